import Foundation
import Logging
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubFetch
import WaterHubStorage

/// What one run of one source came to.
public struct SourceReport: Sendable {
    public enum Outcome: Sendable {
        /// A new file, stored: its batch, the counts, and the events per town.
        case ingested(batchID: Int64, counts: BatchCounts, eventsPerTenant: [String: Int])
        /// HTTP 304: the source has nothing new.
        case notModified
        /// A file the hub already has (same hash from the same source), not ingested again.
        case duplicate(sha256: String)
        /// The whole file is held: nothing of it is stored until the operator acts.
        case held(batchID: Int64, message: String)
        /// The fetch failed (after retries, for temporary failures).
        case failed(message: String)
    }

    public var source: String
    public var outcome: Outcome

    /// Whether a new batch was stored.
    public var ingested: Bool {
        if case .ingested = outcome { true } else { false }
    }

    /// Whether the operator must act (the CLI exits non-zero).
    public var needsAttention: Bool {
        switch outcome {
        case .held, .failed: true
        case .ingested, .notModified, .duplicate: false
        }
    }

    /// One line for the operator; counts and codes only, never personal data.
    public var summary: String {
        switch outcome {
        case .ingested(let batch, let counts, let perTenant):
            return "\(source): batch \(batch): \(counts.rowsIn) rows in = \(counts.routed) routed to \(perTenant.count) town(s) + \(counts.outsideRegion) outside the region + \(counts.quarantined) quarantined"
        case .notModified: return "\(source): not modified since the last fetch"
        case .duplicate(let sha256): return "\(source): the file (sha256 \(sha256.prefix(12))…) was ingested before; not ingested again"
        case .held(let batch, let message): return "\(source): batch \(batch) HELD, nothing stored: \(message)"
        case .failed(let message): return "\(source): FAILED: \(message)"
        }
    }
}

extension Hub {
    /// Fetches every source once and ingests what is new; first finishes any unfinished batch.
    public func fetchAll(only sourceID: String? = nil) async throws -> [SourceReport] {
        try await withIngestLock {
            try await finishUnfinishedBatchesHoldingLock()
            var reports: [SourceReport] = []
            for source in configuration.sources where sourceID == nil || source.id == sourceID {
                reports += await fetchAndIngestHoldingLock(source)
            }
            return reports
        }
    }

    /// Fetches one source (with retries for temporary failures) and ingests what is new: one
    /// report for a URL, one per file for a drop folder.
    public func fetchAndIngest(_ source: SourceConfiguration) async -> [SourceReport] {
        do {
            return try await withIngestLock { await fetchAndIngestHoldingLock(source) }
        } catch {
            return [SourceReport(source: source.id, outcome: .failed(message: "\(error)"))]
        }
    }

    /// Finishes batches a crash or kill left behind (see `finishUnfinishedBatchesHoldingLock`).
    public func finishUnfinishedBatches() async throws {
        try await withIngestLock { try await finishUnfinishedBatchesHoldingLock() }
    }

    private func fetchAndIngestHoldingLock(_ source: SourceConfiguration) async -> [SourceReport] {
        guard DropFolder.isPattern(source.url) else {
            return [await fetchAndIngest(source, url: source.url, conditional: true)]
        }
        // A drop folder: every matching file that is not being written any more (untouched for
        // a minute); the hash decides which ones are new, whatever their names.
        do {
            let files = try DropFolder(pattern: source.url).files(modifiedBefore: now().addingTimeInterval(-60))
            var reports: [SourceReport] = []
            for file in files {
                reports.append(await fetchAndIngest(source, url: file.url, conditional: false))
            }
            return reports
        } catch {
            return [failure(source, url: source.url, started: now(), message: error.description, logger: logger)]
        }
    }

    /// Fetches one URL of a source through libcurl and ingests the file if it is new.
    private func fetchAndIngest(_ source: SourceConfiguration, url: String, conditional: Bool) async -> SourceReport {
        var logger = self.logger
        logger[metadataKey: "source"] = "\(source.id)"
        let started = now()
        let staging = "\(directory.staging)/\(source.id)-\(UUID().uuidString).part"
        var request = FetchRequest(url: url, stagingPath: staging)
        do {
            try configure(&request, for: source)
        } catch {
            return failure(source, url: request.redactedURL, started: started, message: "\(error)", logger: logger)
        }
        if conditional {
            let validators = (try? ledger.lastValidators(source: source.id)) ?? (etag: nil, lastModified: nil)
            request.etag = validators.etag
            request.lastModified = validators.lastModified
        }
        let policy = RetryPolicy(maxRetries: source.fetch.retries, baseDelay: retryBaseDelay)
        let outcome = await fetcher.fetch(request, retrying: policy)
        let elapsed = Int(now().timeIntervalSince(started) * 1000)
        for failure in outcome.failures { logger.warning("fetch attempt failed: \(failure)") }
        let response: FetchResponse
        switch outcome.result {
        case .failure(let error):
            _ = try? ledger.record(FetchRecord(source: source.id, url: request.redactedURL, startedAt: started, durationMilliseconds: elapsed,
                                               outcome: .failed, httpStatus: error.httpStatus, attempts: outcome.attempts, message: error.description))
            logger.error("fetch failed after \(outcome.attempts) attempt(s): \(error)")
            let tries = outcome.attempts > 1 ? " (after \(outcome.attempts) attempts)" : ""
            return SourceReport(source: source.id, outcome: .failed(message: error.description + tries))
        case .success(let fetched):
            response = fetched
        }
        if response.notModified {
            _ = try? ledger.record(FetchRecord(source: source.id, url: request.redactedURL, startedAt: started, durationMilliseconds: elapsed,
                                               outcome: .notModified, httpStatus: 304, etag: response.etag, lastModified: response.lastModified,
                                               attempts: outcome.attempts))
            return SourceReport(source: source.id, outcome: .notModified)
        }
        do {
            return try await ingest(stagedFile: staging, response: response, source: source, url: request.redactedURL,
                                    started: started, elapsed: elapsed, attempts: outcome.attempts, logger: logger)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            logger.error("ingest failed: \(error)")
            return SourceReport(source: source.id, outcome: .failed(message: "\(error)"))
        }
    }

    private func failure(_ source: SourceConfiguration, url: String, started: Date, message: String, logger: Logger) -> SourceReport {
        _ = try? ledger.record(FetchRecord(source: source.id, url: url, startedAt: started, durationMilliseconds: 0, outcome: .failed, message: message))
        logger.error("\(message)")
        return SourceReport(source: source.id, outcome: .failed(message: message))
    }

    /// Fills credentials, TLS/SFTP checks and limits into the request; a missing secret is an error naming it.
    private func configure(_ request: inout FetchRequest, for source: SourceConfiguration) throws {
        let fetch = source.fetch
        request.connectTimeoutSeconds = fetch.connectTimeoutSeconds
        request.totalTimeoutSeconds = fetch.totalTimeoutSeconds
        request.lowSpeedBytesPerSecond = fetch.lowSpeedBytesPerSecond
        request.lowSpeedSeconds = fetch.lowSpeedSeconds
        request.maxBytes = fetch.maxBytes
        request.username = source.credentials.username
        request.password = try source.credentials.password.map(Secrets.resolve)
        request.bearerToken = try source.credentials.bearerToken.map(Secrets.resolve)
        request.sshPrivateKeyPath = source.credentials.privateKeyFile
        request.privateKeyPassphrase = try source.credentials.privateKeyPassphrase.map(Secrets.resolve)
        request.sshKnownHostsPath = source.sftp.knownHosts
        request.sshHostKeySHA256 = source.sftp.hostKeySHA256
        request.caBundlePath = source.tls.caBundle
        request.pinnedPublicKeys = source.tls.pinnedPublicKeys
        request.clientCertificatePath = source.tls.clientCertificate
        request.clientKeyPath = source.tls.clientKey
    }

    /// Archives a complete download, skips a file the hub already has, and ingests a new one.
    private func ingest(stagedFile: String, response: FetchResponse, source: SourceConfiguration, url: String,
                        started: Date, elapsed: Int, attempts: Int, logger: Logger) async throws -> SourceReport {
        var record = FetchRecord(source: source.id, url: url, startedAt: started, durationMilliseconds: elapsed, outcome: .new,
                                 httpStatus: response.status == 0 ? nil : response.status, bytes: response.bytes, sha256: response.sha256,
                                 etag: response.etag, lastModified: response.lastModified, attempts: attempts)
        if response.bytes == 0 {
            try? FileManager.default.removeItem(atPath: stagedFile)
            record.outcome = .failed
            record.message = "the file is empty (0 bytes); rows were expected"
            try ledger.record(record)
            return SourceReport(source: source.id, outcome: .failed(message: record.message!))
        }
        if try ledger.delivery(source: source.id, sha256: response.sha256) != nil {
            try? FileManager.default.removeItem(atPath: stagedFile)
            record.outcome = .duplicate
            try ledger.record(record)
            logger.info("duplicate delivery, not ingested again", metadata: ["sha256": "\(response.sha256)"])
            return SourceReport(source: source.id, outcome: .duplicate(sha256: response.sha256))
        }
        let archiveFolder = directory.archive(source: source.id)
        try FileManager.default.createDirectory(atPath: archiveFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let archivePath = "\(archiveFolder)/\(response.sha256)"
        if FileManager.default.fileExists(atPath: archivePath) { try FileManager.default.removeItem(atPath: archivePath) }
        try FileManager.default.moveItem(atPath: stagedFile, toPath: archivePath)
        let fetchID = try ledger.record(record)
        let (delivery, batchID) = try ledger.recordDelivery(source: source.id, sha256: response.sha256, bytes: response.bytes,
                                                            archivePath: archivePath, fetchID: fetchID, at: now())
        return try await routeAndApply(batchID: batchID, delivery: delivery, source: source)
    }

    func routeAndApply(batchID: Int64, delivery: Delivery, source: SourceConfiguration) async throws -> SourceReport {
        var logger = self.logger
        logger[metadataKey: "source"] = "\(source.id)"
        logger[metadataKey: "batch"] = "\(batchID)"
        switch try route(batchID: batchID, delivery: delivery, source: source) {
        case .held(let message):
            try ledger.holdBatch(batchID: batchID, message: message, at: now())
            try? FileManager.default.removeItem(atPath: directory.spool(batch: batchID))
            logger.error("batch held: \(message)")
            return SourceReport(source: source.id, outcome: .held(batchID: batchID, message: message))
        case .routed(let counts, let perTenant, _):
            let quarantine = try SpoolReader(path: "\(directory.spool(batch: batchID))/quarantine.spool")
            try ledger.completeRouting(batchID: batchID, counts: counts, eventsPerTenant: perTenant, quarantine: quarantine, at: now())
            try await apply(batchID: batchID, sha256: delivery.sha256)
            logger.info("batch applied", metadata: [
                "rows_in": "\(counts.rowsIn)", "routed": "\(counts.routed)", "outside_region": "\(counts.outsideRegion)",
                "quarantined": "\(counts.quarantined)", "towns": "\(perTenant.count)",
            ])
            return SourceReport(source: source.id, outcome: .ingested(batchID: batchID, counts: counts, eventsPerTenant: perTenant))
        }
    }

    /// Finishes batches a crash or kill left behind: routing starts over from the archived file,
    /// and a routed batch is applied to the towns that do not have it yet.
    /// The caller holds the ingest lock (`fetchAll`, `backup`).
    func finishUnfinishedBatchesHoldingLock() async throws {
        for batch in try ledger.unfinishedBatches() {
            switch batch.status {
            case .routing:
                guard let delivery = try ledger.delivery(id: batch.deliveryID),
                      let source = configuration.sources.first(where: { $0.id == batch.source }) else {
                    logger.error("batch \(batch.id) cannot be finished: its source \(batch.source) is no longer configured")
                    continue
                }
                logger.notice("routing batch \(batch.id) again after an interruption")
                _ = try await routeAndApply(batchID: batch.id, delivery: delivery, source: source)
            case .routed:
                logger.notice("applying batch \(batch.id) to the towns that do not have it yet")
                try await apply(batchID: batch.id, sha256: batch.sha256)
            case .applied, .held:
                continue
            }
        }
    }

    enum RoutingResult {
        /// The counts, the events per town, and (for a release only) the lines that were read.
        case routed(BatchCounts, [String: Int], reached: Set<Int>)
        case held(String)
    }

    /// Streams the archived file through the dialect and the router into one spool per town and
    /// one for quarantine. Nothing is written to any town here.
    ///
    /// With `onlyLines`, only those rows are sorted (a release of held rows), and the share of
    /// bad rows does not hold the batch.
    func route(batchID: Int64, delivery: Delivery, source: SourceConfiguration, onlyLines: Set<Int>? = nil) throws -> RoutingResult {
        let spoolFolder = directory.spool(batch: batchID)
        try? FileManager.default.removeItem(atPath: spoolFolder)
        try FileManager.default.createDirectory(atPath: spoolFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let router = Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode)))
        let quarantine = try SpoolWriter(path: "\(spoolFolder)/quarantine.spool")
        var writers: [String: SpoolWriter] = [:]
        var counts = BatchCounts()
        var reasons: [RowProblem.Code: Int] = [:]
        var reached = Set<Int>()
        let file = try FileByteSource(path: delivery.archivePath)
        defer { file.close() }
        do {
            var triage = try FeedTriage(source: file, sourceID: source.id, dialect: source.dialect, router: router,
                                        rules: configuration.rules, today: today, onlyLines: onlyLines)
            while let decision = try triage.next() {
                counts.rowsIn += 1
                if onlyLines != nil { reached.insert(decision.line) }
                switch decision {
                case .routed(let nisCode, let event, let line):
                    let writer = try writers[nisCode] ?? SpoolWriter(path: "\(spoolFolder)/\(nisCode).spool")
                    writers[nisCode] = writer
                    try writer.append(event, line: line)
                    counts.routed += 1
                case .outsideRegion:
                    counts.outsideRegion += 1
                case .quarantined(let problem, let line, let raw):
                    try quarantine.append(QuarantinedRow(line: line, problem: problem, raw: raw).spoolFields)
                    counts.quarantined += 1
                    reasons[problem.code, default: 0] += 1
                }
            }
        } catch let error as FeedError {
            return .held("the whole file is held: \(error.description)")
        }
        try quarantine.close()
        for writer in writers.values { try writer.close() }
        let share = counts.rowsIn == 0 ? 0 : Double(counts.quarantined) / Double(counts.rowsIn)
        if onlyLines == nil, share > configuration.maximumQuarantinedShare {
            let top = reasons.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key.rawValue < $1.key.rawValue) }
                .prefix(3).map { "\($0.key.rawValue) (\($0.value))" }.joined(separator: ", ")
            let percent = Int((share * 100).rounded())
            return .held("the whole file is held: \(counts.quarantined) of \(counts.rowsIn) rows (\(percent) %) are bad, more than the \(Int(configuration.maximumQuarantinedShare * 100)) % allowed; top reasons: \(top)")
        }
        return .routed(counts, writers.mapValues(\.count), reached: reached)
    }

    /// Applies a routed batch to each town that does not have it yet, one transaction per town.
    func apply(batchID: Int64, sha256: String) async throws {
        do {
            try await applyConcurrently(batchID: batchID, sha256: sha256)
        } catch let error as StorageError where error.code == .damagedFile || error.code == .inconsistent {
            // Spools are not forced to disk: one lost or cut short by a power failure is written
            // again from the archived file, if that gives exactly what was routed. Regenerating
            // rewrites every spool of the batch, so it happens between applies, not during one.
            logger.warning("a spool of batch \(batchID) is missing or damaged (\(error)); regenerating the batch's spools from the raw file")
            try regenerateSpools(batchID: batchID)
            try await applyConcurrently(batchID: batchID, sha256: sha256)
        }
        if try ledger.pendingTenants(batchID: batchID).isEmpty {
            try? FileManager.default.removeItem(atPath: directory.spool(batch: batchID))
        }
    }

    /// Applies a routed batch to each town that does not have it yet, two towns at a time (they
    /// are separate files), one transaction per town; marks them applied in the ledger in groups.
    private func applyConcurrently(batchID: Int64, sha256: String) async throws {
        let spoolFolder = directory.spool(batch: batchID)
        let pending = try ledger.pendingTenants(batchID: batchID).sorted { $0.key < $1.key }
        let recordedAt = now()
        var applied: [String] = []
        try await withThrowingTaskGroup(of: String?.self) { group in
            var queue = pending.makeIterator()
            func startNext() {
                guard let (nisCode, expected) = queue.next() else { return }
                group.addTask {
                    guard let database = try await self.registry.databaseForOnePass(nisCode) else {
                        self.logger.error("batch \(batchID) has events for \(nisCode), which is no longer a tenant; left pending")
                        return nil
                    }
                    let result = try await database.apply(batchID: batchID, fileSHA256: sha256, spool: "\(spoolFolder)/\(nisCode).spool",
                                                          expectedCount: expected, recordedAt: recordedAt)
                    self.logger.debug("applied", metadata: ["tenant": "\(nisCode)", "stored": "\(result.stored)",
                                                            "unchanged": "\(result.unchanged)", "already": "\(result.alreadyApplied)"])
                    return nisCode
                }
            }
            for _ in 0..<Hub.applyConcurrency { startNext() }
            while let finished = try await group.next() {
                if let finished { applied.append(finished) }
                if applied.count >= 32 {
                    try ledger.markApplied(batchID: batchID, tenants: applied, at: now())
                    applied.removeAll()
                    // Each town's database is closed after its batch; give what it used back to
                    // the system rather than leave it in the allocator's per-thread arenas.
                    MemoryRelease.returnFreedMemory()
                }
                startNext()
            }
        }
        if !applied.isEmpty { try ledger.markApplied(batchID: batchID, tenants: applied, at: now()) }
    }

    /// How many town files a batch is applied to at the same time.
    static let applyConcurrency = 2

    /// Routes a batch's archived file again into fresh spools, and checks that every town gets
    /// exactly the events the ledger recorded when it was first routed.
    private func regenerateSpools(batchID: Int64) throws {
        guard let batch = try ledger.batch(batchID), batch.status == .routed, let counts = batch.counts,
              let delivery = try ledger.delivery(id: batch.deliveryID),
              let source = configuration.sources.first(where: { $0.id == batch.source }) else {
            throw StorageError(.damagedFile, "the spool of batch \(batchID) is lost and the batch cannot be routed again (source or raw file missing)")
        }
        if try ledger.isRelease(batchID: batchID) {
            throw StorageError(.damagedFile, "the spool of release batch \(batchID) is lost; release the original batch's rows again")
        }
        let recorded = try ledger.routedTenants(batchID: batchID)
        guard case .routed(let again, let perTenant, _) = try route(batchID: batchID, delivery: delivery, source: source),
              again == counts, perTenant == recorded else {
            throw StorageError(.inconsistent, "batch \(batchID) routes differently now than when it was recorded (the configuration changed); restore the configuration of that time to finish it")
        }
    }
}

/// Reads secrets from the environment or from files, at the moment they are needed.
public enum Secrets {
    public struct Missing: Error, CustomStringConvertible {
        public let reference: SecretReference
        public var description: String { "the secret in \(reference) is missing or empty" }
    }

    /// The secret's value (a file's content without its final line break).
    public static func resolve(_ reference: SecretReference) throws -> String {
        switch reference.location {
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(reference: reference) }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path),
                  let value = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .newlines), !value.isEmpty else {
                throw Missing(reference: reference)
            }
            return value
        }
    }
}

/// Gives memory the allocator keeps after frees back to the system (glibc's `malloc_trim`,
/// looked up at run time because Swift's Glibc module does not export it).
enum MemoryRelease {
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let trim: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim").map { unsafeBitCast($0, to: Trim.self) }

    static func returnFreedMemory() {
        _ = trim?(0)
    }
}
