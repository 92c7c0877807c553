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
            return await applyRouted([await fetchAndRoute(source, url: source.url, conditional: true)], source: source)
        }
        // A drop folder: every matching file that is not being written any more (untouched for
        // a minute); the hash decides which ones are new, whatever their names.
        do {
            let files = try DropFolder(pattern: source.url).files(modifiedBefore: now().addingTimeInterval(-60))
            var reports: [SourceReport] = []
            var steps: [IngestStep] = []
            for file in files {
                // A file is routed on a thread of its own while the next one is fetched and
                // routed: the cores a large file's last part leaves idle take the next file.
                // At most two at once (each holds a file and a buffer per town), and a file
                // large enough to be read in parts waits for the one before (see `route`).
                for index in steps.indices.dropLast() { steps[index] = await steps[index].settled() }
                let step = await fetchAndRoute(source, url: file.url, conditional: false, after: steps.last)
                steps.append(step)
                if steps.count(where: \.routedOrRouting) == filesAppliedTogether {
                    reports += await applyRouted(steps, source: source)
                    steps = []
                }
            }
            return reports + (await applyRouted(steps, source: source))
        } catch {
            return [failure(source, url: source.url, started: now(), message: error.description, logger: logger)]
        }
    }

    /// Where one fetched file stands: done (not new, held, failed), being routed, or routed and
    /// waiting to be applied together with the other files of the same run.
    private enum IngestStep {
        case done(SourceReport)
        case routed(RoutedBatch)
        /// Routing on a thread of its own (`routeInBackground`): awaiting it gives done, routed
        /// or unfinished.
        case routing(@Sendable () async -> IngestStep)
        /// The routing failed: the batch stays unfinished for the next run, and no later file of
        /// this run may be applied before it.
        case unfinished(batchID: Int64, SourceReport)

        /// Routed, or being routed (it may still end held or unfinished).
        var routedOrRouting: Bool {
            switch self {
            case .routed, .routing: true
            case .done, .unfinished: false
            }
        }

        /// Done, routed or unfinished: a step being routed, awaited.
        func settled() async -> IngestStep {
            if case .routing(let outcome) = self { return await outcome() }
            return self
        }
    }

    /// Applies the routed files of one run together (each town file is opened once for all of
    /// them, and takes them in file order, one transaction each), then reports on every file.
    /// When the apply fails, the routed files report it; their batches stay routed and are
    /// finished by the next run.
    private func applyRouted(_ steps: [IngestStep], source: SourceConfiguration) async -> [SourceReport] {
        var steps = steps
        for index in steps.indices { steps[index] = await steps[index].settled() }
        // A file whose routing failed holds back the files after it: a correction must not be
        // applied before the file it corrects. The next run routes it again and applies them
        // all in order (`finishUnfinishedBatches`).
        let blocked = steps.firstIndex { if case .unfinished = $0 { true } else { false } } ?? steps.endIndex
        let failedBatch: Int64? = if blocked < steps.endIndex, case .unfinished(let batchID, _) = steps[blocked] { batchID } else { nil }
        let routed = steps[..<blocked].compactMap { step -> RoutedBatch? in if case .routed(let batch) = step { batch } else { nil } }
        var failure: String?
        if !routed.isEmpty {
            do {
                try await apply(batches: routed.map { ($0.batchID, $0.sha256) })
            } catch {
                logger.error("ingest failed: \(error)", metadata: ["source": "\(source.id)"])
                failure = "\(error)"
            }
        }
        return steps.enumerated().map { index, step in
            switch step {
            case .done(let report), .unfinished(_, let report):
                return report
            case .routed(let batch) where index > blocked:
                return SourceReport(source: source.id, outcome: .failed(message:
                    "batch \(batch.batchID) is routed but not applied: batch \(failedBatch!) before it could not be routed; the next run finishes both, in order"))
            case .routing:
                preconditionFailure("every routing step was awaited above")
            case .routed(let batch):
                if let failure { return SourceReport(source: source.id, outcome: .failed(message: failure)) }
                batch.logApplied(logger)
                return batch.report
            }
        }
    }

    /// Fetches one URL of a source through libcurl and, when the file is new, routes it.
    /// `previous`: the step of the file before it in the same run, still routing perhaps.
    private func fetchAndRoute(_ source: SourceConfiguration, url: String, conditional: Bool, after previous: IngestStep? = nil) async -> IngestStep {
        var logger = self.logger
        logger[metadataKey: "source"] = "\(source.id)"
        let started = now()
        let staging = "\(directory.staging)/\(source.id)-\(UUID().uuidString).part"
        var request = FetchRequest(url: url, stagingPath: staging)
        do {
            try configure(&request, for: source)
        } catch {
            return .done(failure(source, url: request.redactedURL, started: started, message: "\(error)", logger: logger))
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
            return .done(SourceReport(source: source.id, outcome: .failed(message: error.description + tries)))
        case .success(let fetched):
            response = fetched
        }
        if response.notModified {
            _ = try? ledger.record(FetchRecord(source: source.id, url: request.redactedURL, startedAt: started, durationMilliseconds: elapsed,
                                               outcome: .notModified, httpStatus: 304, etag: response.etag, lastModified: response.lastModified,
                                               attempts: outcome.attempts))
            return .done(SourceReport(source: source.id, outcome: .notModified))
        }
        do {
            return try await route(stagedFile: staging, response: response, source: source, url: request.redactedURL,
                                   started: started, elapsed: elapsed, attempts: outcome.attempts, after: previous, logger: logger)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            logger.error("ingest failed: \(error)")
            return .done(SourceReport(source: source.id, outcome: .failed(message: "\(error)")))
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

    /// Archives a complete download, skips a file the hub already has, and routes a new one.
    private func route(stagedFile: String, response: FetchResponse, source: SourceConfiguration, url: String,
                       started: Date, elapsed: Int, attempts: Int, after previous: IngestStep?, logger: Logger) async throws -> IngestStep {
        var record = FetchRecord(source: source.id, url: url, startedAt: started, durationMilliseconds: elapsed, outcome: .new,
                                 httpStatus: response.status == 0 ? nil : response.status, bytes: response.bytes, sha256: response.sha256,
                                 etag: response.etag, lastModified: response.lastModified, attempts: attempts)
        if response.bytes == 0 {
            try? FileManager.default.removeItem(atPath: stagedFile)
            record.outcome = .failed
            record.message = "the file is empty (0 bytes); rows were expected"
            try ledger.record(record)
            return .done(SourceReport(source: source.id, outcome: .failed(message: record.message!)))
        }
        if try ledger.delivery(source: source.id, sha256: response.sha256) != nil {
            try? FileManager.default.removeItem(atPath: stagedFile)
            record.outcome = .duplicate
            try ledger.record(record)
            logger.info("duplicate delivery, not ingested again", metadata: ["sha256": "\(response.sha256)"])
            return .done(SourceReport(source: source.id, outcome: .duplicate(sha256: response.sha256)))
        }
        let archiveFolder = directory.archive(source: source.id)
        try FileManager.default.createDirectory(atPath: archiveFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let archivePath = "\(archiveFolder)/\(response.sha256)"
        if FileManager.default.fileExists(atPath: archivePath) { try FileManager.default.removeItem(atPath: archivePath) }
        try FileManager.default.moveItem(atPath: stagedFile, toPath: archivePath)
        let fetchID = try ledger.record(record)
        let (delivery, batchID) = try ledger.recordDelivery(source: source.id, sha256: response.sha256, bytes: response.bytes,
                                                            archivePath: archivePath, fetchID: fetchID, at: now())
        // A file read in parts blocks its routing thread until its parts are done (on GCD's
        // pool, as that thread is): two of them at once could fill a two-core pool and wait for
        // GCD to add a thread (about a second). The second waits for the first instead.
        if Int(clamping: response.bytes) >= routingPartMinimumBytes, let previous { _ = await previous.settled() }
        let routing = Task { await routeInBackground(batchID: batchID, delivery: delivery, source: source, logger: logger) }
        return .routing { await routing.value }
    }

    /// Routes a batch on a GCD thread: routing holds its thread for seconds on a large file
    /// (waiting for its parts), and Swift's concurrency pool's few threads also serve `serve`'s
    /// requests.
    private func routeInBackground(batchID: Int64, delivery: Delivery, source: SourceConfiguration, logger: Logger) async -> IngestStep {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: try self.routeBatch(batchID: batchID, delivery: delivery, source: source))
                } catch {
                    logger.error("ingest failed: \(error)", metadata: ["batch": "\(batchID)"])
                    continuation.resume(returning: .unfinished(batchID: batchID, SourceReport(source: source.id, outcome: .failed(message: "\(error)"))))
                }
            }
        }
    }

    /// Routes one batch and applies it (a release, a batch finished after an interruption).
    func routeAndApply(batchID: Int64, delivery: Delivery, source: SourceConfiguration) async throws -> SourceReport {
        switch try routeBatch(batchID: batchID, delivery: delivery, source: source) {
        case .done(let report):
            return report
        case .routed(let batch):
            try await apply(batches: [(batch.batchID, batch.sha256)])
            batch.logApplied(logger)
            return batch.report
        case .routing, .unfinished:
            preconditionFailure("routeBatch routes in place, and throws when it fails")
        }
    }

    /// Routes a batch into its spools and records the result in the ledger: routed (to be
    /// applied) or held as a whole.
    private func routeBatch(batchID: Int64, delivery: Delivery, source: SourceConfiguration) throws -> IngestStep {
        let routing = try route(batchID: batchID, delivery: delivery, source: source)
        // Routing's threads leave freed memory in their own allocator arenas.
        MemoryRelease.returnFreedMemory()
        switch routing {
        case .held(let message):
            try ledger.holdBatch(batchID: batchID, message: message, at: now())
            try? FileManager.default.removeItem(atPath: directory.spool(batch: batchID))
            logger.error("batch held: \(message)", metadata: ["source": "\(source.id)", "batch": "\(batchID)"])
            return .done(SourceReport(source: source.id, outcome: .held(batchID: batchID, message: message)))
        case .routed(let counts, let perTenant, _):
            let quarantine = try SpoolReader(path: "\(directory.spool(batch: batchID))/quarantine.spool")
            try ledger.completeRouting(batchID: batchID, counts: counts, eventsPerTenant: perTenant, quarantine: quarantine, at: now())
            return .routed(RoutedBatch(batchID: batchID, sha256: delivery.sha256, source: source.id, counts: counts, eventsPerTenant: perTenant))
        }
    }

    /// Finishes batches a crash or kill left behind: routing starts over from the archived file,
    /// and the routed batches are applied (together, in order) to the towns that do not have them yet.
    /// The caller holds the ingest lock (`fetchAll`, `backup`).
    func finishUnfinishedBatchesHoldingLock() async throws {
        var routed: [(id: Int64, sha256: String)] = []
        for batch in try ledger.unfinishedBatches() {
            switch batch.status {
            case .routing:
                guard let delivery = try ledger.delivery(id: batch.deliveryID),
                      let source = configuration.sources.first(where: { $0.id == batch.source }) else {
                    logger.error("batch \(batch.id) cannot be finished: its source \(batch.source) is no longer configured")
                    continue
                }
                logger.notice("routing batch \(batch.id) again after an interruption")
                if case .routed = try routeBatch(batchID: batch.id, delivery: delivery, source: source) { routed.append((batch.id, batch.sha256)) }
            case .routed:
                logger.notice("applying batch \(batch.id) to the towns that do not have it yet")
                routed.append((batch.id, batch.sha256))
            case .applied, .held:
                continue
            }
        }
        if !routed.isEmpty { try await apply(batches: routed) }
    }

    enum RoutingResult {
        /// The counts, the events per town, and (for a release only) the lines that were read.
        case routed(BatchCounts, [String: Int], reached: Set<Int>)
        case held(String)
    }

    /// Streams the archived file through the dialect and the router into one spool per town and
    /// one for quarantine. Nothing is written to any town here.
    ///
    /// A large CSV file is read in parts at once, one per core (see `routeInParts`); the spools
    /// and counts come out byte for byte as from one pass.
    ///
    /// With `onlyLines`, only those rows are sorted (a release of held rows), and the share of
    /// bad rows does not hold the batch.
    func route(batchID: Int64, delivery: Delivery, source: SourceConfiguration, onlyLines: Set<Int>? = nil) throws -> RoutingResult {
        let spoolFolder = directory.spool(batch: batchID)
        try? FileManager.default.removeItem(atPath: spoolFolder)
        try FileManager.default.createDirectory(atPath: spoolFolder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let context = RoutingContext(path: delivery.archivePath, sourceID: source.id, dialect: source.dialect,
                                     router: Router(reference: configuration.reference, tenants: Set(configuration.tenants.map(\.nisCode))),
                                     rules: configuration.rules, today: today)
        var routed: RoutedPart
        if onlyLines == nil, let parts = try routeInParts(context, folder: spoolFolder) {
            routed = parts
        } else {
            routed = try RoutedPart(folder: spoolFolder, part: 0)
            do {
                let file = try FileByteSource(path: delivery.archivePath)
                defer { file.close() }
                var triage = try context.triage(file, onlyLines: onlyLines)
                try routed.sort(&triage, recordingLines: onlyLines != nil)
            } catch let error as FeedError {
                routed.feedError = error
            }
            try routed.close()
        }
        if let error = routed.feedError {
            return .held("the whole file is held: \(error.description)")
        }
        let counts = routed.counts
        let share = counts.rowsIn == 0 ? 0 : Double(counts.quarantined) / Double(counts.rowsIn)
        if onlyLines == nil, share > configuration.maximumQuarantinedShare {
            let top = routed.reasons.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key.rawValue < $1.key.rawValue) }
                .prefix(3).map { "\($0.key.rawValue) (\($0.value))" }.joined(separator: ", ")
            let percent = Int((share * 100).rounded())
            return .held("the whole file is held: \(counts.quarantined) of \(counts.rowsIn) rows (\(percent) %) are bad, more than the \(Int(configuration.maximumQuarantinedShare * 100)) % allowed; top reasons: \(top)")
        }
        try routed.writeIndex()
        return .routed(counts, routed.perTenant, reached: routed.reached)
    }

    /// Routes a large CSV file in `routingParts` parts at once (see `Hub.init`): each part starts at
    /// a record boundary found by a quick scan from the file's start (which also gives the part's
    /// first line), reads with the header's layout, and writes spools of its own, which are then
    /// appended in file order to the first part's. Nil when the file is not split (JSON, small,
    /// one part), or when a later part accepted an event id an earlier part had accepted too:
    /// one pass would have put that row in quarantine as a repeat, so the file is routed again
    /// in one pass (the parts' spools are dropped).
    func routeInParts(_ context: RoutingContext, folder: String) throws -> RoutedPart? {
        let count = routingParts
        var status = stat()
        guard count > 1, context.dialect.format == .csv, stat(context.path, &status) == 0 else { return nil }
        let size = Int(status.st_size)
        guard size >= routingPartMinimumBytes else { return nil }
        let scan = try FileByteSource(path: context.path)
        let boundaries = try CSVTokenizer.recordBoundaries(in: scan, delimiter: context.dialect.delimiter, quote: context.dialect.quote,
                                                           at: (1..<count).map { size / count * $0 })
        scan.close()
        let cuts = boundaries.filter { $0.offset < size }
        guard !cuts.isEmpty else { return nil }
        // The first part reads the header; the others need its layout, and must start after it.
        let first = try RoutedPart(folder: folder, part: 0)
        let firstFile = try FileByteSource(path: context.path, range: 0..<cuts[0].offset)
        defer { firstFile.close() }
        var firstTriage: FeedTriage<FileByteSource>
        do {
            firstTriage = try context.triage(firstFile, onlyLines: nil)
        } catch let error as FeedError {
            first.feedError = error
            try first.close()
            return first
        }
        guard let layout = firstTriage.csvLayout, cuts[0].line >= layout.dataStart else {
            try first.close()
            return nil
        }
        let later = try cuts.indices.map { try RoutedPart(folder: folder, part: $0 + 1) }
        let group = DispatchGroup()
        for (index, part) in later.enumerated() {
            let range = cuts[index].offset..<(index + 1 < cuts.count ? cuts[index + 1].offset : size)
            let line = cuts[index].line
            DispatchQueue.global().async(group: group) {
                do {
                    let file = try FileByteSource(path: context.path, range: range)
                    defer { file.close() }
                    var triage = context.triage(part: file, startingAt: line, layout: layout)
                    try part.sort(&triage, recordingLines: false)
                } catch let error as FeedError {
                    part.feedError = error
                } catch {
                    part.failure = error
                }
                part.closeKeepingFailure()
            }
        }
        do {
            try first.sort(&firstTriage, recordingLines: false)
        } catch let error as FeedError {
            first.feedError = error
        } catch {
            // Thrown after the later parts are done: they write into the same folder.
            first.failure = error
        }
        first.closeKeepingFailure()
        group.wait()
        for part in [first] + later {
            if let failure = part.failure { throw failure }
        }
        // The first whole-file problem in file order, as one pass would have stopped at it.
        if let error = ([first] + later).lazy.compactMap(\.feedError).first {
            first.feedError = error
            return first
        }
        let all = [first] + later
        let repeated = all.indices.dropFirst().contains { later in
            all[..<later].contains { !$0.acceptedIDs.isDisjoint(with: all[later].acceptedIDs) }
        }
        if repeated {
            logger.notice("an event id repeats across the parts of the file; routing it again in one pass")
            try? FileManager.default.removeItem(atPath: folder)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            return nil
        }
        for part in later { try first.append(part) }
        return first
    }

    /// Applies a routed batch to each town that does not have it yet, one transaction per town.
    func apply(batchID: Int64, sha256: String) async throws {
        try await apply(batches: [(batchID, sha256)])
    }

    /// Applies routed batches, in order, to each town that does not have them yet: each town file
    /// is opened once and takes its batches one transaction each (a run of several files, such
    /// as years of history with their corrections, does not write a town's pages once per file).
    func apply(batches: [(id: Int64, sha256: String)]) async throws {
        do {
            try await applyConcurrently(batches)
        } catch let error as StorageError where error.code == .damagedFile || error.code == .inconsistent {
            // Spools are not forced to disk: one lost or cut short by a power failure is written
            // again from the archived file, if that gives exactly what was routed. Regenerating
            // rewrites every spool of the batch, so it happens between applies, not during one.
            for batch in batches where try !ledger.pendingTenants(batchID: batch.id).isEmpty {
                logger.warning("a spool of batch \(batch.id) may be missing or damaged (\(error)); regenerating the batch's spools from the raw file")
                try regenerateSpools(batchID: batch.id)
            }
            try await applyConcurrently(batches)
        }
        for batch in batches where try ledger.pendingTenants(batchID: batch.id).isEmpty {
            try? FileManager.default.removeItem(atPath: directory.spool(batch: batch.id))
        }
    }

    /// Applies routed batches to each town that does not have them yet, `applyConcurrency` towns at a time
    /// (they are separate files), one transaction per town and batch; marks them applied in the
    /// ledger in groups.
    private func applyConcurrently(_ batches: [(id: Int64, sha256: String)]) async throws {
        // Per town, its pending batches in the order given.
        var perTown: [String: [TenantDatabase.SpooledBatch]] = [:]
        for batch in batches {
            let pending = try ledger.pendingTenants(batchID: batch.id)
            guard !pending.isEmpty else { continue }
            // Read before any town is applied: a damaged index throws here (`apply(batches:)`).
            let towns = try SpoolIndex.spools(of: pending.keys, in: directory.spool(batch: batch.id))
            for (nisCode, expected) in pending {
                perTown[nisCode, default: []].append(TenantDatabase.SpooledBatch(batchID: batch.id, fileSHA256: batch.sha256,
                                                                                 spool: towns[nisCode]!, expectedCount: expected))
            }
        }
        let recordedAt = now()
        // Towns applied, per batch, not yet marked in the ledger.
        var applied: [Int64: [String]] = [:]
        func mark() throws {
            for (batchID, towns) in applied.sorted(by: { $0.key < $1.key }) {
                try ledger.markApplied(batchID: batchID, tenants: towns, at: now())
            }
            applied.removeAll()
        }
        try await withThrowingTaskGroup(of: (String, [Int64]).self) { group in
            // The largest towns first: the last ones to start are small, so the cores finish
            // together instead of one large town's file being built alone at the end.
            var queue = perTown.map { (nisCode: $0.key, spooled: $0.value, events: $0.value.reduce(0) { $0 + $1.expectedCount }) }
                .sorted { ($0.events, $1.nisCode) > ($1.events, $0.nisCode) }
                .map { ($0.nisCode, $0.spooled) }
                .makeIterator()
            func startNext() {
                guard let (nisCode, spooled) = queue.next() else { return }
                group.addTask {
                    guard let tenant = self.registry.tenant(nisCode) else {
                        self.logger.error("batches \(spooled.map(\.batchID)) have events for \(nisCode), which is no longer a tenant; left pending")
                        return (nisCode, [])
                    }
                    let results: [TenantDatabase.ApplyResult]
                    if let built = try await TenantDatabase.applyToNewFile(tenant: tenant, path: self.directory.tenantFile(tenant), batches: spooled,
                                                                            recordedAt: recordedAt) {
                        results = built
                    } else {
                        results = try await self.registry.databaseForOnePass(tenant).apply(spooled, recordedAt: recordedAt)
                    }
                    for (batch, result) in zip(spooled, results) {
                        self.logger.debug("applied", metadata: ["tenant": "\(nisCode)", "batch": "\(batch.batchID)", "stored": "\(result.stored)",
                                                                "unchanged": "\(result.unchanged)", "already": "\(result.alreadyApplied)"])
                    }
                    return (nisCode, spooled.map(\.batchID))
                }
            }
            for _ in 0..<Hub.applyConcurrency { startNext() }
            while let (nisCode, batchIDs) = try await group.next() {
                for batchID in batchIDs { applied[batchID, default: []].append(nisCode) }
                if applied.values.reduce(0, { $0 + $1.count }) >= 32 {
                    try mark()
                    // Each town's database is closed after its batches; give what it used back to
                    // the system rather than leave it in the allocator's per-thread arenas.
                    MemoryRelease.returnFreedMemory()
                }
                startNext()
            }
        }
        try mark()
    }

    /// How many town files a batch is applied to at the same time: one more than the cores, so
    /// that a town waiting for its file to reach the disk leaves no core idle (each takes a few
    /// MB of page cache; at most 8).
    static let applyConcurrency = min(ProcessInfo.processInfo.activeProcessorCount + 1, 8)

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

/// A file routed into spools and recorded in the ledger, to be applied to its towns.
struct RoutedBatch {
    let batchID: Int64
    let sha256: String
    let source: String
    let counts: BatchCounts
    let eventsPerTenant: [String: Int]

    var report: SourceReport {
        SourceReport(source: source, outcome: .ingested(batchID: batchID, counts: counts, eventsPerTenant: eventsPerTenant))
    }

    func logApplied(_ logger: Logger) {
        logger.info("batch applied", metadata: [
            "source": "\(source)", "batch": "\(batchID)", "rows_in": "\(counts.rowsIn)", "routed": "\(counts.routed)",
            "outside_region": "\(counts.outsideRegion)", "quarantined": "\(counts.quarantined)", "towns": "\(eventsPerTenant.count)",
        ])
    }
}

/// What routing needs to open a triage on (a part of) the archived file, shareable across threads.
struct RoutingContext: Sendable {
    let path: String
    let sourceID: String
    let dialect: Dialect
    let router: Router
    let rules: EventRules
    let today: CalendarDate

    func triage(_ file: FileByteSource, onlyLines: Set<Int>?) throws -> FeedTriage<FileByteSource> {
        try FeedTriage(source: file, sourceID: sourceID, dialect: dialect, router: router, rules: rules, today: today, onlyLines: onlyLines)
    }

    func triage(part file: FileByteSource, startingAt line: Int, layout: FeedDecoder<FileByteSource>.CSVLayout) -> FeedTriage<FileByteSource> {
        FeedTriage(part: file, startingAt: line, layout: layout, sourceID: sourceID, dialect: dialect, router: router, rules: rules, today: today)
    }
}

/// The spools, counts and reasons of routing a file, or one part of it: each part writes its
/// towns' spools as chunks of one file (`towns.spool`, `towns.spool.part1`, …) and its
/// quarantine spool apart. `append` adds a later part's to part 0's, and `writeIndex` records
/// where each town's spool lies (`SpoolIndex`): no file per town is created, nothing is copied.
/// Used by one thread at a time: the routing waits for every part before reading any.
final class RoutedPart: @unchecked Sendable {
    private let folder: String
    private var writers: [String: SpoolWriter] = [:]
    /// This part's file of town spools.
    private let chunks: SpoolChunks
    private let quarantine: SpoolWriter
    private(set) var counts = BatchCounts()
    private(set) var reasons: [RowProblem.Code: Int] = [:]
    /// The lines sorted, for a release of held rows.
    private(set) var reached = Set<Int>()
    private(set) var acceptedIDs = FingerprintSet()
    /// Each town's spool: where its chunks lie in this part's file, then in later parts' (set
    /// at `close`, extended by `append`), and how many events they hold.
    private var spools: [String: (segments: [SpoolSegment], count: Int)] = [:]
    var feedError: FeedError?
    var failure: (any Error)?

    init(folder: String, part: Int) throws {
        self.folder = folder
        let suffix = part == 0 ? "" : ".part\(part)"
        quarantine = try SpoolWriter(path: "\(folder)/quarantine.spool\(suffix)")
        chunks = try SpoolChunks(path: "\(folder)/towns.spool\(suffix)")
    }

    /// Events per town.
    var perTenant: [String: Int] { spools.mapValues(\.count) }

    func sort(_ triage: inout FeedTriage<FileByteSource>, recordingLines: Bool) throws {
        defer { acceptedIDs = triage.acceptedIDs }
        // Each row's event is spooled from the decoder's buffers, in place (no `Event` made).
        while let (line, decision) = try triage.nextRoute() {
            counts.rowsIn += 1
            if recordingLines { reached.insert(line) }
            switch decision {
            case .tenant(let nisCode):
                let writer: SpoolWriter
                if let existing = writers[nisCode] {
                    writer = existing
                } else {
                    writer = SpoolWriter(chunksIn: chunks, key: nisCode)
                    writers[nisCode] = writer
                }
                try writer.append(triage.row, line: line)
                counts.routed += 1
            case .outsideRegion:
                counts.outsideRegion += 1
            case .rejected(let problem):
                try quarantine.append(QuarantinedRow(line: line, problem: problem, raw: triage.rawRecord).spoolFields)
                counts.quarantined += 1
                reasons[problem.code, default: 0] += 1
            }
        }
    }

    func close() throws {
        try quarantine.close()
        for (nisCode, writer) in writers {
            try writer.close()
            spools[nisCode] = (chunks.segments(nisCode), writer.count)
        }
        writers = [:]
    }

    /// Closes on the part's own thread (the parts close at once); an error is kept as the
    /// part's failure unless it has one already.
    func closeKeepingFailure() {
        do {
            try close()
        } catch {
            if failure == nil { failure = error }
        }
    }

    /// Adds a later part's spools (closed) after this part's, in file order, and its counts.
    func append(_ later: RoutedPart) throws {
        try SpoolFiles.append(later.quarantine.path, to: quarantine.path)
        for (nisCode, spool) in later.spools {
            spools[nisCode, default: ([], 0)].segments += spool.segments
            spools[nisCode, default: ([], 0)].count += spool.count
        }
        counts.rowsIn += later.counts.rowsIn
        counts.routed += later.counts.routed
        counts.outsideRegion += later.counts.outsideRegion
        counts.quarantined += later.counts.quarantined
        reasons.merge(later.reasons, uniquingKeysWith: +)
    }

    /// Writes where each town's spool lies (after every part was appended).
    func writeIndex() throws {
        try SpoolIndex(towns: spools.mapValues(\.segments)).write(to: folder)
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
