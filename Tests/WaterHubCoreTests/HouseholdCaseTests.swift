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
