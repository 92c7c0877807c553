import Testing
import WaterHubCore
import WaterHubTestSupport

@Suite struct EventRulesTests {
    let rules = EventRules()
    let today = CalendarDate.day("2026-11-22")

    func event(_ type: EventType = .warningLetter, date: String = "2026-11-16", customer: String? = "C1", connection: String? = nil,
               name: String? = nil, street: String? = nil, postalCode: String? = "2000") -> Event {
        Event(source: "s", sourceEventID: "e1", type: type, eventDate: .day(date), customerNumber: customer,
              connectionID: connection, name: name, street: street, postalCode: postalCode)
    }

    @Test func aCompleteEventPasses() {
        #expect(rules.problem(with: event(), today: today) == nil)
        #expect(rules.problem(with: event(customer: nil, connection: "541"), today: today) == nil)
        #expect(rules.problem(with: event(.disconnection, name: "A", street: "B"), today: today) == nil)
    }

    @Test func aHouseholdIsRequired() {
        #expect(rules.problem(with: event(customer: nil), today: today)?.code == .missingField)
    }

    @Test(arguments: [EventType.lacRequest, .flowLimitationAnnounced, .intentToDisconnect, .disconnection])
    func stepsThatNeedAVisitNeedANameAndAStreet(type: EventType) {
        #expect(rules.problem(with: event(type), today: today)?.field == "name")
        #expect(rules.problem(with: event(type, name: "X"), today: today)?.field == "street")
    }

    @Test func datesOutsideTheWindowAreRejected() {
        #expect(rules.problem(with: event(date: "1999-12-31"), today: today)?.code == .dateOutOfRange)
        #expect(rules.problem(with: event(date: "2027-11-24"), today: today)?.code == .dateOutOfRange)
        #expect(rules.problem(with: event(date: "2027-06-01"), today: today) == nil)
    }

    @Test func euroTextIsExact() {
        #expect(Event.euroText(123_456) == "1234.56")
        #expect(Event.euroText(5) == "0.05")
        #expect(Event.euroText(0) == "0.00")
        for cents in [Int64(1), 9, 10, 99, 100, 101, 1_000, 123_405, 99_999_999_999_999_999] {
            #expect(Event.euroText(cents) == "\(cents / 100)." + String(String(cents % 100 + 100).dropFirst()), "\(cents)")
        }
    }

    @Test func townFilesAreNamedNISFirst() {
        #expect(Tenant(nisCode: "46030", name: "Beveren-Kruibeke-Zwijndrecht").fileStem == "46030-beveren-kruibeke-zwijndrecht")
        #expect(Tenant(nisCode: "23096", name: "Zemst").fileStem == "23096-zemst")
    }
}
