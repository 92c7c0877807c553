import Testing
import WaterHubCore
import WaterHubTestSupport

@Suite struct CalendarDateTests {
    @Test(arguments: ["2026-02-29", "2026-13-01", "2026-04-31", "2026-00-10", "26-01-01", "2026-1-01", "abcd-ef-gh",
                      "2026-01-011", "2026-01-0", "", "2026/01/01", "+026-01-01", "2026-01-1a", "０２６-01-01"])
    func impossibleDaysAreRejected(text: String) {
        #expect(CalendarDate(iso: text) == nil)
    }

    @Test func everyDayWritesAndReadsBackAsTenCharacters() {
        #expect(CalendarDate(year: 987, month: 3, day: 5)!.iso == "0987-03-05")
        #expect(CalendarDate(iso: "0987-03-05") == CalendarDate(year: 987, month: 3, day: 5))
        var day = CalendarDate(year: 1999, month: 12, day: 25)!
        for _ in 0..<4_000 {
            #expect(day.iso.utf8.count == 10)
            #expect(CalendarDate(iso: day.iso) == day)
            #expect(CalendarDate(iso: day.iso[...]) == day, "a Substring too")
            day = day.adding(days: 1)
        }
    }

    @Test func leapDaysExistOnlyInLeapYears() {
        #expect(CalendarDate(iso: "2024-02-29") != nil)
        #expect(CalendarDate(iso: "2000-02-29") != nil)
        #expect(CalendarDate(iso: "1900-02-29") == nil)
    }

    @Test func daysSinceEpochRoundTripsOverDecades() {
        var date = CalendarDate.day("1999-12-25")
        for _ in 0..<12_000 {
            let next = date.adding(days: 1)
            #expect(date.days(until: next) == 1)
            #expect(CalendarDate(daysSinceEpoch: next.daysSinceEpoch) == next)
            #expect(date < next)
            date = next
        }
        #expect(date == CalendarDate.day("2032-11-01"))
    }

    @Test(arguments: [
        ("2026-11-22", 2026, 47, 7), ("2026-01-01", 2026, 1, 4), ("2027-01-01", 2026, 53, 5),
        ("2024-12-30", 2025, 1, 1), ("2021-01-03", 2020, 53, 7), ("2026-11-16", 2026, 47, 1),
    ])
    func isoWeeksFollowTheThursdayRule(iso: String, year: Int, week: Int, weekday: Int) {
        let date = CalendarDate.day(iso)
        #expect(date.isoWeek == ISOWeek(year: year, week: week))
        #expect(date.isoWeekday == weekday)
    }

    @Test func isoWeekParsesAndKnowsItsDays() {
        let week = ISOWeek("2026-W47")
        #expect(week?.monday == CalendarDate.day("2026-11-16"))
        #expect(week?.sunday == CalendarDate.day("2026-11-22"))
        #expect(ISOWeek("2025-W53") == nil)
        #expect(ISOWeek("2026-W53")?.sunday == CalendarDate.day("2027-01-03"))
        #expect(ISOWeek("2026-W00") == nil)
        #expect(ISOWeek("2020-W53") != nil)
        #expect(week?.description == "2026-W47")
    }
}
