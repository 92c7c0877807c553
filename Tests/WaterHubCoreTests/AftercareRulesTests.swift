import Testing
import WaterHubCore
import WaterHubTestSupport

@Suite struct AftercareRulesTests {
    let rules = AftercareRules()

    func householdCase(_ steps: [(EventType, String)], protected: ProtectedStatus = .no) -> HouseholdCase {
        let events = steps.enumerated().map { index, step in
            (event: Event(source: "s", sourceEventID: "\(index)", type: step.0, eventDate: .day(step.1), customerNumber: "C",
                          protectedCustomer: protected), seq: Int64(index + 1))
        }
        return HouseholdCase(events: events)!
    }

    func contact(_ date: String, _ outcome: ContactOutcome) -> Contact {
        Contact(date: .day(date), method: .homeVisitUnannounced, outcome: outcome, role: "prevention_worker")
    }

    @Test func aDisconnectedHouseholdNeedsOutreachUntilSomeoneReachesIt() {
        let disconnected = householdCase([(.intentToDisconnect, "2026-09-01"), (.disconnection, "2026-10-01")])
        let today = CalendarDate.day("2026-10-02")
        #expect(rules.followUp(for: disconnected, contacts: ContactHistory(), today: today).needsOutreach)
        let notReached = ContactHistory().adding(contact("2026-10-02", .notReached))
        #expect(rules.followUp(for: disconnected, contacts: notReached, today: today).needsOutreach)
        let reachedBefore = ContactHistory().adding(contact("2026-09-15", .reached))
        #expect(rules.followUp(for: disconnected, contacts: reachedBefore, today: today).needsOutreach, "a contact before the disconnection does not count")
        let reached = notReached.adding(contact("2026-10-01", .reached))
        #expect(!rules.followUp(for: disconnected, contacts: reached, today: today).needsOutreach)
    }

    @Test func onlyTheConfiguredStatesCallForOutreach() {
        let limited = householdCase([(.flowLimitation, "2026-10-01")])
        let today = CalendarDate.day("2026-10-02")
        #expect(!rules.followUp(for: limited, contacts: ContactHistory(), today: today).needsOutreach)
        var stricter = rules
        stricter.outreachStates = [.disconnected, .limited]
        #expect(stricter.followUp(for: limited, contacts: ContactHistory(), today: today).needsOutreach)
    }

    @Test func aReconnectionWithoutContactNeedsAftercareAfterTheConfiguredMonths() {
        let reconnected = householdCase([(.disconnection, "2026-01-10"), (.reconnection, "2026-02-15")])
        #expect(!rules.followUp(for: reconnected, contacts: ContactHistory(), today: .day("2026-08-14")).needsAftercare)
        #expect(rules.followUp(for: reconnected, contacts: ContactHistory(), today: .day("2026-08-15")).needsAftercare)
        let contactedSince = ContactHistory().adding(contact("2026-03-01", .notReached))
        #expect(!rules.followUp(for: reconnected, contacts: contactedSince, today: .day("2026-09-01")).needsAftercare)
        let contactedBefore = ContactHistory().adding(contact("2026-01-20", .reached))
        #expect(rules.followUp(for: reconnected, contacts: contactedBefore, today: .day("2026-09-01")).needsAftercare)
        var sooner = rules
        sooner.monthsAfterReconnection = 1
        #expect(sooner.followUp(for: reconnected, contacts: ContactHistory(), today: .day("2026-03-15")).needsAftercare)
        #expect(!rules.followUp(for: reconnected, contacts: ContactHistory(), today: .day("2026-03-15")).needsOutreach)
    }

    @Test func aProtectedCustomerIsOfferedAWaterscan() {
        let protected = householdCase([(.warningLetter, "2026-10-01")], protected: .yes)
        let unknown = householdCase([(.warningLetter, "2026-10-01")], protected: .unknown)
        let today = CalendarDate.day("2026-10-02")
        #expect(rules.followUp(for: protected, contacts: ContactHistory(), today: today).suggestWaterscan)
        #expect(!rules.followUp(for: unknown, contacts: ContactHistory(), today: today).suggestWaterscan)
        var off = rules
        off.suggestWaterscanForProtected = false
        #expect(!off.followUp(for: protected, contacts: ContactHistory(), today: today).suggestWaterscan)
    }

    @Test(arguments: ["social_worker", "prevention_worker", "lac_secretary2", "ab"])
    func roleCodesAreLowerSnakeCase(role: String) {
        #expect(ContactRole.isWellFormed(role))
    }

    @Test(arguments: ["Voornaam Achternaam", "voornaam.achternaam", "Social_worker", "_worker", "worker_", "social__worker", "a", "2nd_line",
                      String(repeating: "a", count: 41), "maatschappelijk_werker_é"])
    func anythingElseIsNotARole(text: String) {
        #expect(!ContactRole.isWellFormed(text))
    }

    @Test func everyMethodAndOutcomeHasADutchLabel() {
        #expect(Set(ContactMethod.allCases.map(\.dutchLabel)).count == ContactMethod.allCases.count)
        #expect(Set(ContactOutcome.allCases.map(\.dutchLabel)).count == ContactOutcome.allCases.count)
    }
}
