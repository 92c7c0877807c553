import Crypto
import Foundation
import GRDB
import WaterHubCore

/// A contact attempt as the town file keeps it.
public struct StoredContact: Sendable, Hashable {
    /// The town's sequence number of the contact; the API's cursor for the contact list.
    public var id: Int64
    /// The household's opaque key.
    public var household: String
    public var contact: Contact
    public var recordedAt: Date
}

/// What recording a contact did.
public enum ContactRecording: Sendable, Hashable {
    /// Recorded now.
    case recorded(StoredContact)
    /// The idempotency key was used before for the same contact: nothing new was recorded.
    case replayed(StoredContact)
    /// The idempotency key was used before for another contact: nothing was recorded.
    case keyReused
    /// The household key is not a household of this town.
    case unknownHousehold
}

extension TenantDatabase {
    /// Records a contact attempt once per idempotency key, in one transaction: a retry with the
    /// same key and the same contact gets the original back, the same key with another contact
    /// records nothing.
    public func record(_ contact: Contact, household key: String, idempotencyKey: String, tokenID: String,
                       at date: Date = Date()) async throws -> ContactRecording {
        let requestHash = TenantDatabase.requestHash(contact, household: key)
        return try await pool.write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT id, request_hash FROM contact WHERE idempotency_key = ?", arguments: [idempotencyKey]) {
                guard (existing["request_hash"] as Data) == requestHash else { return .keyReused }
                return try self.contact(id: existing["id"], in: db).map(ContactRecording.replayed) ?? .keyReused
            }
            guard let household = try householdID(key, in: db) else {
                return .unknownHousehold
            }
            try db.execute(sql: """
                INSERT INTO contact (household_id, contact_date, method, outcome, role, next_step, idempotency_key, request_hash, token_id, recorded_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [household, contact.date.iso, contact.method.rawValue, contact.outcome.rawValue, contact.role,
                                 contact.nextStep, idempotencyKey, requestHash, tokenID, StorageConfiguration.timestamp(date)])
            let id = db.lastInsertedRowID
            return try self.contact(id: id, in: db).map(ContactRecording.recorded) ?? .unknownHousehold
        }
    }

    /// Contacts in the order they were recorded, after `afterID`; at most `limit`.
    public func contacts(afterID: Int64 = 0, limit: Int) async throws -> [StoredContact] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "\(TenantDatabase.contactQuery) WHERE k.id > ? ORDER BY k.id LIMIT ?", arguments: [afterID, limit])
                .compactMap(storedContact)
        }
    }

    /// The number of contacts recorded.
    public func contactCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM contact") ?? 0 }
    }

    private static let contactQuery = """
        SELECT k.id, k.household_id, k.contact_date, k.method, k.outcome, k.role, k.next_step, k.recorded_at
        FROM contact k
        """

    private func contact(id: Int64, in db: Database) throws -> StoredContact? {
        try Row.fetchOne(db, sql: "\(TenantDatabase.contactQuery) WHERE k.id = ?", arguments: [id]).flatMap(storedContact)
    }

    private func storedContact(_ row: Row) -> StoredContact? {
        guard let date = CalendarDate(iso: row[2] as String), let method = ContactMethod(rawValue: row[3]),
              let outcome = ContactOutcome(rawValue: row[4]) else { return nil }
        return StoredContact(id: row[0], household: keys.encode(row[1]),
                             contact: Contact(date: date, method: method, outcome: outcome, role: row[5], nextStep: row[6]),
                             recordedAt: StorageConfiguration.date(fromTimestamp: row[7]) ?? Date(timeIntervalSince1970: 0))
    }

    /// The fingerprint of what a request asked to record, to tell a retry from a reused key.
    static func requestHash(_ contact: Contact, household: String) -> Data {
        var hasher = SHA256()
        for part in [household, contact.date.iso, contact.method.rawValue, contact.outcome.rawValue, contact.role] {
            hasher.update(data: Array(part.utf8))
            hasher.update(data: [0x1F])
        }
        if let nextStep = contact.nextStep { hasher.update(data: Array(nextStep.utf8)) } else { hasher.update(data: [0x1E]) }
        return Data(hasher.finalize())
    }
}
