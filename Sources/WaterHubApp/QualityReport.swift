import Foundation
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage

/// What a water company's file got wrong, for the cell to send back to the company: counts per
/// reason with the line numbers. It carries no personal data: no raw rows, no names or
/// addresses, only codes, fields, line numbers and the hub's own wording.
public struct QualityReport: Sendable, Codable {
    public struct Reason: Sendable, Codable, Hashable {
        public var code: String
        public var field: String?
        public var count: Int
        public var lines: [Int]
        /// One message in the hub's words (the first of the group).
        public var example: String
    }

    public var batch: Int64
    public var source: String
    public var fileSHA256: String
    public var status: String
    public var rowsIn: Int?
    public var routed: Int?
    public var outsideRegion: Int?
    public var quarantined: Int?
    /// Rows held at ingest that a later release (after a fix on the hub's side) stored.
    public var releasedSince: Int
    /// Why the whole file was held, when it was.
    public var heldBecause: String?
    public var reasons: [Reason]

    /// The report as plain text, for an e-mail to the company.
    public var text: String {
        var lines = ["Data-quality report, batch \(batch) from \(source)", "File SHA-256: \(fileSHA256)", "Status: \(status)"]
        if let heldBecause { lines.append("The whole file was held: \(heldBecause)") }
        if let rowsIn, let routed, let outsideRegion, let quarantined {
            lines.append("Rows: \(rowsIn) in = \(routed) accepted + \(outsideRegion) outside the region + \(quarantined) rejected")
        }
        if releasedSince > 0 { lines.append("\(releasedSince) rejected row(s) were accepted later, after a correction at the hub.") }
        for reason in reasons {
            let field = reason.field.map { " in \($0)" } ?? ""
            let shown = reason.lines.prefix(50).map(String.init).joined(separator: ", ") + (reason.lines.count > 50 ? ", …" : "")
            lines.append("- \(reason.code)\(field): \(reason.count) row(s), lines \(shown). Example: \(reason.example)")
        }
        if reasons.isEmpty && heldBecause == nil { lines.append("No rows were rejected.") }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Hub {
    /// The data-quality report of one batch.
    public func qualityReport(batchID: Int64) throws -> QualityReport {
        guard let batch = try ledger.batch(batchID) else { throw CommandFailure("there is no batch \(batchID)") }
        let entries = try ledger.quarantineEntries(batchID: batchID, includeReleased: true, limit: Int.max)
        var groups: [String: QualityReport.Reason] = [:]
        for entry in entries where entry.releasedAt == nil {
            let key = "\(entry.problem.code.rawValue)|\(entry.problem.field ?? "")"
            groups[key, default: .init(code: entry.problem.code.rawValue, field: entry.problem.field, count: 0, lines: [], example: entry.problem.message)]
                .count += 1
            groups[key]!.lines.append(entry.line)
        }
        return QualityReport(
            batch: batch.id, source: batch.source, fileSHA256: batch.sha256, status: batch.status.rawValue,
            rowsIn: batch.counts?.rowsIn, routed: batch.counts?.routed, outsideRegion: batch.counts?.outsideRegion,
            quarantined: batch.counts?.quarantined, releasedSince: entries.filter { $0.releasedAt != nil }.count,
            heldBecause: batch.status == .held ? batch.message : nil,
            reasons: groups.values.sorted { ($0.count, $1.code) > ($1.count, $0.code) })
    }

    /// `waterhub quality BATCH [--json]`.
    public func qualityCommand(batchID: Int64, json: Bool) throws {
        let report = try qualityReport(batchID: batchID)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
    }

    /// `waterhub quarantine list`.
    public func quarantineListCommand(source: String?, batchID: Int64?, includeReleased: Bool) throws {
        let entries = try ledger.quarantineEntries(source: source, batchID: batchID, includeReleased: includeReleased)
        let held = try ledger.recentBatches(limit: 1000).filter { $0.status == .held && (source == nil || $0.source == source) }
        for batch in held where batchID == nil || batch.id == batchID {
            print("batch \(batch.id) (\(batch.source)) HELD as a whole: \(batch.message ?? "")")
        }
        if entries.isEmpty && held.isEmpty { print("nothing in quarantine"); return }
        for entry in entries {
            let state = entry.releasedAt == nil ? "held" : "released in batch \(entry.releasedBatch ?? 0)"
            print("\(entry.id)\tbatch \(entry.batchID)\t\(entry.source)\tline \(entry.line)\t\(entry.problem.code.rawValue)\t\(entry.problem)\t\(state)")
        }
        if !entries.isEmpty {
            print("Show one with `waterhub quarantine show ID`; after fixing the dialect, `waterhub quarantine release --batch N`.")
        }
    }

    /// `waterhub quarantine show ID`: the row as it stood in the file (personal data: operator only).
    public func quarantineShowCommand(id: Int64) throws {
        guard let (entry, raw) = try ledger.quarantineEntry(id: id) else { throw CommandFailure("there is no quarantined row \(id)") }
        let encoding = configuration.sources.first { $0.id == entry.source }?.dialect.encoding ?? .utf8
        print("row \(entry.id): batch \(entry.batchID), source \(entry.source), line \(entry.line)")
        print("file sha256: \(entry.fileSHA256)")
        print("reason: \(entry.problem.code.rawValue): \(entry.problem)")
        print("state: \(entry.releasedAt.map { "released \($0) in batch \(entry.releasedBatch ?? 0)" } ?? "held since \(entry.createdAt)")")
        if let raw {
            print("raw line (\(encoding.rawValue)): \(encoding.decode(Array(raw)) ?? String(decoding: raw, as: UTF8.self))")
        } else {
            print("raw line: purged with the raw archive")
        }
    }

    /// `waterhub quarantine release`.
    public func quarantineReleaseCommand(batchID: Int64?, source: String?) async throws {
        var batches: [Int64] = []
        if let batchID { batches = [batchID] }
        if let source {
            let held = try ledger.recentBatches(limit: 10_000).filter { $0.source == source && $0.status == .held }.map(\.id)
            let withRows = Set(try ledger.quarantineEntries(source: source, limit: Int.max).map(\.batchID))
            batches += (held + withRows).sorted()
        }
        guard !batches.isEmpty else { throw CommandFailure("give --batch N or --source ID; `waterhub quarantine list` shows what is held") }
        for batch in Set(batches).sorted() {
            let report = try await release(batchID: batch)
            if let held = report.stillHeld {
                print("batch \(batch): still held: \(held)")
            } else {
                let counts = report.counts
                print("batch \(batch): \(counts.rowsIn) row(s) read again = \(counts.routed) stored for \(report.eventsPerTenant.count) town(s) + \(counts.outsideRegion) outside the region + \(counts.quarantined) still held\(report.batch != batch ? " (release batch \(report.batch))" : "")")
            }
        }
    }
}
