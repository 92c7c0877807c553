import Crypto
import Foundation
import GRDB
import GRDBSQLite
import WaterHubCore

/// The fingerprint of an event's content, to tell a repeat from a correction: SHA-256 of each
/// field's canonical text (0x1F after each, 0x1E for an absent one), cut to 16 bytes.
///
/// Only an event id the company sends again needs it, so it is computed then, from the record
/// and from the stored latest version (`ofStored`), not for every new event. A version whose
/// personal fields a purge or an erasure blanked keeps the fingerprint of what it held before
/// in `event.content_hash` (`Purge`): its fields no longer say what the company sent, and a
/// replayed feed must not count that as a correction and store the personal data again.
/// Versions stored before town files v9 keep the fingerprint they were stored with.
enum ContentHash {
    /// The hash's 16 bytes, as stored in `event.content_hash`.
    struct Digest: Equatable {
        private var first: UInt64 = 0
        private var second: UInt64 = 0

        /// The 16 bytes, as stored.
        var data: Data { Swift.withUnsafeBytes(of: self) { Data($0) } }

        /// Whether a stored hash (the column's bytes, read in place) is this one.
        func matches(_ stored: UnsafeRawBufferPointer) -> Bool {
            Swift.withUnsafeBytes(of: self) { $0.elementsEqual(stored) }
        }
    }

    /// The hash of a spooled event.
    static func of(_ record: SpoolRecord) -> Digest {
        of { record.field($0) }
    }

    /// The hash of a stored version, read from the current row of a stepping statement whose
    /// columns from `first` on are `EventWriter.fieldColumns`: the hash of the record it was
    /// stored from, as long as its fields are as stored (the amount, stored in cents, as its
    /// canonical text again).
    static func ofStored(_ handle: SQLiteStatement, from first: Int32) -> Digest {
        func column(_ field: EventField) -> UnsafeBufferPointer<UInt8>? {
            let index = first + Int32(field.index)
            guard let text = sqlite3_column_text(handle, index) else { return nil }
            return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index)))
        }
        let amount = first + Int32(EventField.amountDue.index)
        guard sqlite3_column_type(handle, amount) != SQLITE_NULL else { return of(column) }
        return Event.withEuroText(sqlite3_column_int64(handle, amount)) { euros in
            of { $0 == .amountDue ? euros : column($0) }
        }
    }

    /// The hash of the fields' bytes, given in field order (nil for an absent field).
    private static func of(_ fieldBytes: (EventField) -> UnsafeBufferPointer<UInt8>?) -> Digest {
        // The fields' bytes, each followed by 0x1F (or 0x1E alone when absent), hashed in one call.
        var length = 0
        for field in EventField.allCases { length += (fieldBytes(field)?.count ?? 0) + 1 }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { buffer in
            var position = 0
            for field in EventField.allCases {
                if let bytes = fieldBytes(field) {
                    UnsafeMutableBufferPointer(rebasing: buffer[position..<position + bytes.count]).update(fromContentsOf: bytes)
                    position += bytes.count
                    buffer[position] = 0x1F
                } else {
                    buffer[position] = 0x1E
                }
                position += 1
            }
            var digest = Digest()
            SHA256.hash(data: UnsafeRawBufferPointer(buffer)).withUnsafeBytes { hash in
                Swift.withUnsafeMutableBytes(of: &digest) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: hash.prefix(16))) }
            }
            return digest
        }
    }
}
