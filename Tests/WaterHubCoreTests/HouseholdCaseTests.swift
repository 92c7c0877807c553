import Testing
import WaterHubCore
import WaterHubTestSupport

@Suite struct HouseholdCaseTests {
    func event(_ type: EventType, _ date: String, amount: Int64? = nil, protected: ProtectedStatus = .unknown) -> Event {
        Event(source: "s", sourceEventID: "\(type)-\(date)", type: type, eventDate: .day(date), customerNumber: "C",
              amountDueCents: amount, protectedCustomer: protected)
    }

    @Test func theStateFollowsTheLatestStep() {
        var householdCase = HouseholdCase(first: event(.lacRequest, "2026-09-01", amount: 10_000), seq: 1)
        householdCase.fold(event(.paymentPlanFailed, "2026-10-01"), seq: 2)
        householdCase.fold(event(.flowLimitationAnnounced, "2026-10-15", amount: 12_000, protected: .yes), seq: 3)
        householdCase.fold(event(.flowLimitation, "2026-11-26"), seq: 4)
        #expect(householdCase.state == .limited)
        #expect(householdCase.stepDates[.paymentPlanFailed] == .day("2026-10-01"))
        #expect(householdCase.amountDueCents == 12_000)
        #expect(householdCase.protectedCustomer == .yes)
        #expect(householdCase.openedOn == .day("2026-09-01"))
        #expect(householdCase.eventCount == 4)
        #expect(householdCase.daysSinceLastStep(today: .day("2026-12-01")) == 5)
    }

    @Test func aLateReportedOldStepDoesNotUndoANewerOne() {
        var householdCase = HouseholdCase(first: event(.reconnection, "2026-11-10"), seq: 1)
        householdCase.fold(event(.disconnection, "2026-10-01"), seq: 2)
        #expect(householdCase.state == .reconnected)
        #expect(householdCase.state.isClosed)
        #expect(householdCase.openedOn == .day("2026-10-01"))
        #expect(householdCase.lastEventOn == .day("2026-11-10"))
    }

    /// Folding events one by one as they arrive gives the same case as rebuilding it from all of
    /// them, whatever the arrival order (the storage layer relies on this).
    @Test func foldingInAnyArrivalOrderEqualsRebuilding() {
        var generator = SeededGenerator(seed: 2026)
        for _ in 0..<500 {
            let count = Int(generator.next() % 7) + 1
            var arrivals: [(event: Event, seq: Int64)] = []
            for index in 0..<count {
                let type = EventType.allCases[Int(generator.next() % 9)]
                let day = CalendarDate.day("2026-01-01").adding(days: Int(generator.next() % 20))
                let amount: Int64? = generator.next() % 3 == 0 ? nil : Int64(generator.next() % 100_000)
                let protected = ProtectedStatus.allCases[Int(generator.next() % 3)]
                arrivals.append((Event(source: "s", sourceEventID: "\(index)", type: type, eventDate: day, customerNumber: "C",
                                       amountDueCents: amount, protectedCustomer: protected), Int64(index + 1)))
            }
            var folded = HouseholdCase(first: arrivals[0].event, seq: arrivals[0].seq)
            for (event, seq) in arrivals.dropFirst() { folded.fold(event, seq: seq) }
            let rebuilt = HouseholdCase(events: arrivals.shuffled(using: &generator))
            #expect(folded == rebuilt)
        }
    }
}

/// A case's step dates, held one slot per event type, behave as the map they replace.
@Suite struct StepDatesTests {
    /// Random dates over the whole calendar range, each step set or not: reading back, listing
    /// in step order and raising agree with a dictionary doing the same.
    @Test func stepDatesAgreeWithADictionary() {
        var generator = SeededGenerator(seed: 0x5713)
        func randomDate() -> CalendarDate {
            CalendarDate(daysSinceEpoch: Int.random(in: -719_162...2_932_896, using: &generator))   // 0001-01-01 … 9999-12-31
        }
        #expect(EventType.allCases.map(\.stepOrder) == Array(0..<EventType.allCases.count))
        for _ in 0..<2_000 {
            var dates = StepDates(), expected: [EventType: CalendarDate] = [:]
            for type in EventType.allCases where Bool.random(using: &generator) {
                let date = randomDate()
                dates[type] = date
                expected[type] = date
            }
            let type = EventType.allCases.randomElement(using: &generator)!, date = randomDate()
            dates.raise(type, to: date)
            expected[type] = max(expected[type] ?? date, date)
            for type in EventType.allCases { #expect(dates[type] == expected[type]) }
            #expect(dates.map(\.type) == expected.keys.sorted())
            #expect(dates.map(\.date) == expected.keys.sorted().map { expected[$0]! })
            var removed = dates
            removed[type] = nil
            #expect(removed[type] == nil && removed != dates)
        }
    }

    @Test func equalDatesAreEqualAndHashAlike() {
        let one: StepDates = [.warningLetter: .day("2026-10-01"), .disconnection: .day("2026-11-16")]
        var other = StepDates()
        other[.disconnection] = .day("2026-11-16")
        other[.warningLetter] = .day("2026-10-01")
        #expect(one == other && one.hashValue == other.hashValue)
        other.raise(.warningLetter, to: .day("2026-09-30"))
        #expect(one == other, "an earlier date does not replace a later one")
        other.raise(.warningLetter, to: .day("2026-10-02"))
        #expect(one != other)
    }
}
