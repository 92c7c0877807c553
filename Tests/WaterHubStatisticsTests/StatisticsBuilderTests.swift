import Testing
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics

private func day(_ iso: String) -> CalendarDate { CalendarDate(iso: iso)! }

@Suite struct StatisticsMonthTests {
    @Test(arguments: [
        ("2026-11", ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]),
        ("2026-10", ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]),
        ("2026-12", ["2026-W49", "2026-W50", "2026-W51", "2026-W52", "2026-W53"]),
        ("2027-01", ["2027-W01", "2027-W02", "2027-W03", "2027-W04"]),
    ])
    func aMonthIsTheWeeksWhoseThursdayFallsInIt(_ month: String, _ weeks: [String]) throws {
        let parsed = try #require(StatisticsMonth(month))
        #expect(parsed.weeks.map(\.description) == weeks)
        for week in parsed.weeks { #expect(StatisticsMonth(of: week) == parsed) }
    }

    @Test func everyWeekOfAYearBelongsToExactlyOneMonth() {
        var seen: [ISOWeek: Int] = [:]
        for month in 1...12 {
            for week in StatisticsMonth(year: 2026, month: month).weeks { seen[week, default: 0] += 1 }
        }
        #expect(seen.count == 53)    // 2026 has 53 ISO weeks
        #expect(seen.values.allSatisfy { $0 == 1 })
    }
}

@Suite struct QuartileTests {
    @Test func quartilesInterpolateBetweenClosestRanksInHundredthsOfADay() throws {
        let quartiles = try #require(Quartiles(days: [10, 2, 4, 8, 6]))
        #expect(quartiles == Quartiles(first: 400, median: 600, third: 800))
        let even = try #require(Quartiles(days: [1, 2, 3, 4]))
        #expect(even == Quartiles(first: 175, median: 250, third: 325))
        #expect(Quartiles(days: []) == nil)
    }
}

@Suite struct ObservationTests {
    static let town = Tenant(nisCode: "11002", name: "Antwerpen")

    @Test func aHouseholdCountsOncePerWeekAndTypeAndGivesOneDurationPerMeasure() {
        var builder = TownObservationsBuilder(tenant: Self.town)
        // One household: two warning letters in one week, an announcement, placement 20 days later, removal.
        builder.add(.warningLetter, on: day("2026-11-16"))
        builder.add(.warningLetter, on: day("2026-11-18"))
        builder.add(.flowLimitationAnnounced, on: day("2026-11-19"))
        builder.add(.flowLimitation, on: day("2026-12-09"))
        builder.add(.flowLimitationRemoved, on: day("2026-12-20"))
        builder.endHousehold()
        // Another: a LAC request followed by a warning letter five days later.
        builder.add(.lacRequest, on: day("2026-11-16"))
        builder.add(.lacRequest, on: day("2026-11-17"))
        builder.add(.warningLetter, on: day("2026-11-21"))
        builder.endHousehold()
        let observations = builder.observations
        let week47 = ISOWeek(year: 2026, week: 47)
        #expect(observations.householdsPerWeek[week47]?[.warningLetter] == 2)
        #expect(observations.householdsPerWeek[week47]?[.lacRequest] == 1)
        #expect(observations.householdsPerWeekAnyType[week47] == 2)
        #expect(observations.householdsPerMonth[StatisticsMonth(year: 2026, month: 11)]?[.warningLetter] == 2)
        #expect(observations.durations[.limitationAnnouncedToPlaced] == [20])
        #expect(observations.durations[.limitationToRemoval] == [11])
        #expect(observations.durations[.lacRequestToNextStep] == [5])
        #expect(observations.durations[.disconnectionToReconnection] == nil)
    }
}

@Suite struct StatisticsBuilderTests {
    static let towns = [Tenant(nisCode: "11002", name: "Antwerpen"), Tenant(nisCode: "44021", name: "Gent")]

    /// Two towns with `households` households each, all with a warning letter in one week (and,
    /// for those given a duration, a disconnection and a reconnection that many days later).
    static func observations(households: [Int], durationDays: [[Int]] = [[], []]) -> [TownObservations] {
        zip(towns, zip(households, durationDays)).map { tenant, pair in
            var builder = TownObservationsBuilder(tenant: tenant)
            for index in 0..<pair.0 {
                builder.add(.warningLetter, on: day("2026-11-16"))
                if index < pair.1.count {
                    builder.add(.disconnection, on: day("2026-11-17"))
                    builder.add(.reconnection, on: day("2026-11-17").adding(days: pair.1[index]))
                }
                builder.endHousehold()
            }
            return builder.observations
        }
    }

    @Test func smallCountsAndTheCountsThatWouldGiveThemAwayAreWithheld() throws {
        let statistics = StatisticsBuilder.publish(towns: Self.observations(households: [30, 3]), feeds: [], policy: DisclosurePolicy())
        let week = try #require(statistics.weeks.first)
        let column = EventType.allCases.firstIndex(of: .warningLetter)!
        #expect(week.table.cells[1][column].isSuppressed)     // Gent: 3
        #expect(week.table.cells[0][column].isSuppressed)     // Antwerpen: would be 33 − 30 = 3 otherwise
        #expect(week.table.rowTotals[1].isSuppressed)
        let month = try #require(statistics.months.first)
        #expect(month.list.entries[column] == .published(33) || month.list.entries[column].isSuppressed)
    }

    /// A town total counts steps: three households with two kinds of steps make a total of 6,
    /// above k, but it still comes from three households and is withheld for its own sake.
    @Test func aTotalFromFewerThanKHouseholdsIsWithheldWhateverItsValue() throws {
        var towns = Self.observations(households: [30, 0])
        var gent = TownObservationsBuilder(tenant: Self.towns[1])
        for _ in 0..<3 {
            gent.add(.warningLetter, on: day("2026-11-16"))
            gent.add(.lacRequest, on: day("2026-11-17"))
            gent.endHousehold()
        }
        towns[1] = gent.observations
        let statistics = StatisticsBuilder.publish(towns: towns, feeds: [], policy: DisclosurePolicy())
        let week = try #require(statistics.weeks.first)
        #expect(week.table.rowTotals[1] == .suppressed(.primary))
    }

    @Test func durationsNeedKHouseholdsAndOnlyTheRegionShowsItsCount() throws {
        let statistics = StatisticsBuilder.publish(
            towns: Self.observations(households: [6, 3], durationDays: [[1, 2, 3, 4, 5, 6], [7, 8, 9]]), feeds: [], policy: DisclosurePolicy())
        let figures = statistics.durations.filter { $0.measure == .disconnectionToReconnection }
        let region = try #require(figures.first { $0.scope == .region })
        #expect(region.households == 9)
        #expect(region.quartiles.publishedValue?.median == 500)
        let antwerpen = try #require(figures.first { $0.scope == .town("11002") })
        #expect(antwerpen.households == nil)
        #expect(antwerpen.quartiles.publishedValue?.median == 350)
        let gent = try #require(figures.first { $0.scope == .town("44021") })
        #expect(gent.quartiles.isSuppressed)
    }

    @Test func sharesAndOutreachNeedKHouseholds() {
        var antwerpen = TownObservations(tenant: Self.towns[0])
        antwerpen.protectedByState[.disconnected] = ProtectedTally(known: 4, protected: 1)
        antwerpen.protectedByState[.invited] = ProtectedTally(known: 8, protected: 2)
        antwerpen.contacts[.phone] = ContactTally(contacts: 12, households: 6, reached: 9)
        antwerpen.contacts[.letter] = ContactTally(contacts: 9, households: 4, reached: 1)
        let statistics = StatisticsBuilder.publish(towns: [antwerpen], feeds: [], policy: DisclosurePolicy())
        #expect(statistics.protectedShares.first { $0.state == .disconnected }?.percent.isSuppressed == true)
        #expect(statistics.protectedShares.first { $0.state == .invited }?.percent == .published(25))
        #expect(statistics.outreach.first { $0.method == .phone }?.counts == .published(OutreachCounts(households: 6, contacts: 12, reachedPercent: 75)))
        #expect(statistics.outreach.first { $0.method == .letter }?.counts.isSuppressed == true)
    }

    @Test func feedRowsAreRoundedToTensAndAliveFeedsNeverShowZero() throws {
        let week = ISOWeek(year: 2026, week: 47)
        let feed = FeedObservations(source: "aquaflan", name: "AquaFlan", lastDelivery: day("2026-11-16"),
                                    rowsPerWeek: [week: 3, ISOWeek(year: 2026, week: 46): 46], quarantinedPerWeek: [week: 1])
        let statistics = StatisticsBuilder.publish(towns: [], feeds: [feed], policy: DisclosurePolicy())
        let figure = try #require(statistics.feeds.first)
        #expect(figure.roundedRowsPerWeek[week] == 10)
        #expect(figure.roundedRowsPerWeek[ISOWeek(year: 2026, week: 46)] == 50)
        #expect(figure.roundedRowsPerWeek.count == StatisticsBuilder.feedWeeks)
        #expect(figure.quarantinedPercent == 2)
    }

    @Test func theSameObservationsAlwaysGiveTheSameFigures() {
        let towns = Self.observations(households: [12, 4], durationDays: [[3, 1, 4, 1, 5], [9, 2]])
        let first = StatisticsBuilder.publish(towns: towns, feeds: [], policy: DisclosurePolicy())
        let second = StatisticsBuilder.publish(towns: towns.reversed(), feeds: [], policy: DisclosurePolicy())
        #expect(first == second)
    }
}
