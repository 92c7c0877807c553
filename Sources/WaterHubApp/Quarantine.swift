import Foundation
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage

/// What a release did: per batch, how many held rows were read again and where they went.
public struct ReleaseReport: Sendable {
    public var originalBatch: Int64
    /// The batch the released rows went into (a held whole file keeps its own batch id).
    public var batch: Int64
    public var counts: BatchCounts
    public var eventsPerTenant: [String: Int]
    /// Set when a held whole file is held again (the configuration still does not fit it).
    public var stillHeld: String?
}

extension Hub {
    /// Reads held rows (or a held whole file) again with the current configuration and routes
    /// what now passes: after the operator fixed a mapping, the rows are not lost.
    ///
    /// A held file is routed as a whole under its own batch. Held rows of a stored batch go into
    /// a new release batch (`release_of` points at the original); rows that still fail stay in
    /// quarantine with their current reason. Both go through the same spools, the same
    /// per-town transactions and the same balance check as any batch.
    public func release(batchID: Int64) async throws -> ReleaseReport {
        try await withIngestLock {
            guard let original = try ledger.batch(batchID) else { throw CommandFailure("there is no batch \(batchID)") }
            guard let source = configuration.sources.first(where: { $0.id == original.source }) else {
                throw CommandFailure("batch \(batchID) came from \(original.source), which is no longer configured")
            }
            guard let delivery = try ledger.delivery(id: original.deliveryID), try !ledger.isPurged(deliveryID: original.deliveryID) else {
                throw CommandFailure("the raw file of batch \(batchID) was purged after its retention; its rows cannot be read again")
            }
            if original.status == .held {
                try ledger.reopenHeldBatch(batchID)
                let report = try await routeAndApply(batchID: batchID, delivery: delivery, source: source)
                switch report.outcome {
                case .ingested(_, let counts, let perTenant):
                    return ReleaseReport(originalBatch: batchID, batch: batchID, counts: counts, eventsPerTenant: perTenant)
                case .held(_, let message):
                    return ReleaseReport(originalBatch: batchID, batch: batchID, counts: BatchCounts(), eventsPerTenant: [:], stillHeld: message)
                default:
                    throw CommandFailure(report.summary)
                }
            }
            let held = try ledger.quarantineEntries(batchID: batchID, limit: Int.max)
            guard !held.isEmpty else { throw CommandFailure("batch \(batchID) has no held rows") }
            let idsByLine = Dictionary(held.map { ($0.line, $0.id) }, uniquingKeysWith: { first, _ in first })
            let releaseBatch = try ledger.beginRelease(of: original, at: now())
            guard case .routed(var counts, let perTenant, let reached) = try route(batchID: releaseBatch, delivery: delivery, source: source,
                                                                                   onlyLines: Set(idsByLine.keys)) else {
                throw CommandFailure("the file of batch \(batchID) no longer fits its dialect as a whole; fix the dialect, then release again")
            }
            // Rows that fail again keep their quarantine entry, with the reason they fail for now.
            var stillHeld: [Int64: RowProblem] = [:]
            var quarantine = try SpoolReader(path: "\(directory.spool(batch: releaseBatch))/quarantine.spool")
            while let fields = quarantine.next(), let row = QuarantinedRow(spoolFields: fields) {
                if let id = idsByLine[row.line] { stillHeld[id] = row.problem }
            }
            // A held row the reader does not reach again (a changed quote or delimiter moved the
            // record boundaries) stays held as it was: nothing is lost.
            for entry in held where !reached.contains(entry.line) {
                stillHeld[entry.id] = entry.problem
                counts.rowsIn += 1
                counts.quarantined += 1
            }
            let released = held.map(\.id).filter { stillHeld[$0] == nil }
            try ledger.completeRelease(batchID: releaseBatch, counts: counts, eventsPerTenant: perTenant,
                                       released: released, stillHeld: stillHeld, at: now())
            try await apply(batchID: releaseBatch, sha256: delivery.sha256)
            return ReleaseReport(originalBatch: batchID, batch: releaseBatch, counts: counts, eventsPerTenant: perTenant)
        }
    }
}
