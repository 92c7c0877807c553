import WaterHubCore

/// One spooled event read in place: the canonical text of each field as bytes in the spool's
/// buffer, without making strings. The apply step binds these bytes straight into SQLite.
struct SpoolRecord {
    let bytes: UnsafeBufferPointer<UInt8>
    /// Byte ranges of the fields: `EventField.allCases`, then the line, then the source.
    let ranges: [Range<Int>?]

    static let fieldCount = EventField.allCases.count + 2

    /// The bytes of a canonical field, or nil when it is absent.
    @inline(__always)
    func field(_ field: EventField) -> UnsafeBufferPointer<UInt8>? { slice(field.index) }

    @inline(__always)
    func slice(_ index: Int) -> UnsafeBufferPointer<UInt8>? {
        guard let range = ranges[index] else { return nil }
        return UnsafeBufferPointer(rebasing: bytes[range])
    }

    func string(_ field: EventField) -> String? { self.field(field).map { String(decoding: $0, as: UTF8.self) } }

    /// The source's bytes (after the fields and the line).
    var sourceBytes: UnsafeBufferPointer<UInt8>? { slice(EventField.allCases.count + 1) }
    var source: String { sourceBytes.map { String(decoding: $0, as: UTF8.self) } ?? "" }
    var line: Int { slice(EventField.allCases.count).map { SpoolRecord.integer($0) } ?? 0 }

    /// The event type, matched on the field's bytes (no string made for it): the canonical
    /// names all differ in length, so the length picks the one name to compare with.
    var type: EventType? {
        guard let bytes = field(.type), bytes.count < SpoolRecord.typeByLength.count,
              let candidate = SpoolRecord.typeByLength[bytes.count], candidate.code.elementsEqual(bytes) else { return nil }
        return candidate.type
    }

    /// The canonical name of each type, at the index of its length.
    private static let typeByLength: [(code: [UInt8], type: EventType)?] = {
        var table = [(code: [UInt8], type: EventType)?](repeating: nil, count: EventType.allCases.map(\.rawValue.utf8.count).max()! + 1)
        for type in EventType.allCases {
            let code = Array(type.rawValue.utf8)
            precondition(table[code.count] == nil, "two event types' names have the same length")
            table[code.count] = (code, type)
        }
        return table
    }()

    var eventDate: CalendarDate? {
        guard let bytes = field(.eventDate), bytes.count == 10 else { return nil }
        return CalendarDate(year: SpoolRecord.integer(UnsafeBufferPointer(rebasing: bytes[0..<4])),
                            month: SpoolRecord.integer(UnsafeBufferPointer(rebasing: bytes[5..<7])),
                            day: SpoolRecord.integer(UnsafeBufferPointer(rebasing: bytes[8..<10])))
    }

    /// The amount in cents, from its canonical text `1234.56`.
    var amountDueCents: Int64? {
        guard let bytes = field(.amountDue) else { return nil }
        var cents: Int64 = 0
        for byte in bytes where byte != UInt8(ascii: ".") { cents = cents * 10 + Int64(byte &- 0x30) }
        return cents
    }

    var protectedCustomer: ProtectedStatus {
        guard let bytes = field(.protectedCustomer), let first = bytes.first else { return .unknown }
        switch first {
        case UInt8(ascii: "y"): return .yes
        case UInt8(ascii: "n"): return .no
        default: return .unknown
        }
    }

    /// The household this event is about, as `Event.householdKey` defines it.
    var householdKey: HouseholdKey? {
        if let customer = string(.customerNumber) { return HouseholdKey(source: source, kind: .customer, identifier: customer) }
        if let connection = string(.connectionID) { return HouseholdKey(source: source, kind: .connection, identifier: connection) }
        return nil
    }

    static func integer(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var value = 0
        for byte in bytes { value = value * 10 + Int(byte &- 0x30) }
        return value
    }

    /// Splits one record's bytes into its length-prefixed fields; false when it is damaged.
    static func split(_ bytes: UnsafeBufferPointer<UInt8>, into ranges: inout [Range<Int>?]) -> Bool {
        ranges.removeAll(keepingCapacity: true)
        var offset = 0
        while offset + 2 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            offset += 2
            if length == 0xFFFF { ranges.append(nil); continue }
            guard offset + length <= bytes.count else { return false }
            ranges.append(offset..<offset + length)
            offset += length
        }
        return offset == bytes.count
    }
}

extension SpooledEvent {
    /// Calls `body` with the event in its spool form, read in place as the apply reads a spool.
    func withRecord<T>(ranges: inout [Range<Int>?], _ body: (SpoolRecord) throws -> T) throws -> T {
        try recordBytes.withUnsafeBufferPointer { buffer in
            guard SpoolRecord.split(buffer, into: &ranges) else { throw StorageError(.inconsistent, "an event could not be encoded") }
            return try body(SpoolRecord(bytes: buffer, ranges: ranges))
        }
    }
}

extension SpoolReader {
    /// Calls `body` with the next event record read in place; nil at the end of the spool.
    mutating func withNextEvent<T>(ranges: inout [Range<Int>?], _ body: (SpoolRecord) throws -> T) throws -> T? {
        var damagedRecord = false
        let result: T?? = try withNextRecordBytes { bytes -> T? in
            guard SpoolRecord.split(bytes, into: &ranges), ranges.count == SpoolRecord.fieldCount else {
                damagedRecord = true
                return nil
            }
            return try body(SpoolRecord(bytes: bytes, ranges: ranges))
        }
        if damagedRecord { throw StorageError(.damagedFile, "a spool record is damaged") }
        return result ?? nil
    }
}
