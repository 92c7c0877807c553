@testable import WaterHubStorage
import WaterHubCore
import WaterHubTestSupport

extension Event {
    /// An event with every field set, accents, separators and quotes included.
    static func withEveryField(_ id: String) -> Event {
        Event(source: "aquaflan", sourceEventID: id, type: .disconnection, eventDate: .day("2025-02-28"), customerNumber: "C1",
              connectionID: "EAN 5414", name: "Hélène Lemaître", street: "Désiré Mergaertstraat", houseNumber: "12", box: "b",
              postalCode: "9000", municipality: "Gent", nisCode: "44021", phone: "0470 12 34 56", email: "h@example.org",
              amountDueCents: 0, protectedCustomer: .yes, note: "x;y\n\"z\"")
    }

    /// The same event with one field changed, or left out.
    func changing(_ field: EventField) -> Event {
        var event = self
        switch field {
        case .sourceEventID: event.sourceEventID += "x"
        case .type: event.type = .warningLetter
        case .eventDate: event.eventDate = .day("2025-02-27")
        case .customerNumber: event.customerNumber = "C2"
        case .connectionID: event.connectionID = nil
        case .name: event.name = "Helene Lemaitre"
        case .street: event.street = nil
        case .houseNumber: event.houseNumber = "12A"
        case .box: event.box = "B"
        case .postalCode: event.postalCode = "9030"
        case .municipality: event.municipality = "Mariakerke"
        case .nisCode: event.nisCode = nil
        case .phone: event.phone = "0470 12 34 57"
        case .email: event.email = "h@example.com"
        case .amountDue: event.amountDueCents = nil
        case .protectedCustomer: event.protectedCustomer = .unknown
        case .note: event.note = "x;y\n\"z\" "
        }
        return event
    }

    /// The hash `ContentHash.of` gives the event's spool record.
    var contentHash: ContentHash.Digest {
        get throws {
            var ranges: [Range<Int>?] = []
            return try SpooledEvent(event: self, line: 7).withRecord(ranges: &ranges) { ContentHash.of($0) }
        }
    }
}
