import Foundation
import Logging
import ServiceLifecycle
import WaterHubConfig
import WaterHubCore
import WaterHubStorage

/// What one retention run purged, per kind (counts only).
public struct RetentionReport: Sendable {
    public var households = 0
    public var events = 0
    public var rawFiles = 0
    public var quarantinedRows = 0
}

extension Hub {
    /// Purges what has outlived its retention: personal data of closed cases
    /// (`retention.closed_case_months` after their last event) and raw feed files with the raw
    /// rows quarantined from them (`raw_archive_days`, per source). Every purge is written to
    /// the ledger's purge log, as counts.
    public func purgeExpired() async throws -> RetentionReport {
        var report = RetentionReport()
        let cutoff = today.adding(months: -configuration.closedCaseRetentionMonths)
        for tenant in configuration.tenants where FileManager.default.fileExists(atPath: directory.tenantFile(tenant)) {
            let database = try await registry.databaseForOnePass(tenant)
            let counts = try database.purgeClosedCases(lastEventBefore: cutoff, at: now())
            if !counts.logEmptied {
                logger.warning("the write-ahead log of a town file could not be emptied (a reader was busy): it may still hold purged values until the next retention pass or erasure in that town empties it", metadata: ["tenant": "\(tenant.nisCode)"])
            }
            guard counts.households > 0 else { continue }
            try ledger.recordPurge(tenant: tenant.nisCode, kind: "retention", households: counts.households, events: counts.events, at: now())
            logger.notice("purged closed cases", metadata: ["tenant": "\(tenant.nisCode)", "households": "\(counts.households)", "events": "\(counts.events)"])
            report.households += counts.households
            report.events += counts.events
        }
        for source in configuration.sources {
            let days = source.archiveRetentionDays ?? configuration.rawArchiveRetentionDays
            var files = 0, rows = 0
            for delivery in try ledger.deliveriesToPurge(source: source.id, receivedBefore: now().addingTimeInterval(-Double(days) * 86_400)) {
                try? FileManager.default.removeItem(atPath: delivery.archivePath)
                rows += try ledger.markPurged(delivery, at: now())
                files += 1
            }
            guard files > 0 else { continue }
            if rows > 0, !ledger.emptyLog() {
                logger.warning("the ledger's write-ahead log could not be emptied after clearing raw rows (a reader was busy)")
            }
            try ledger.recordPurge(tenant: nil, kind: "archive", files: files, quarantinedRows: rows, at: now())
            logger.notice("purged raw files", metadata: ["source": "\(source.id)", "files": "\(files)", "quarantined_rows": "\(rows)"])
            report.rawFiles += files
            report.quarantinedRows += rows
        }
        return report
    }

    /// Erases one household's personal data in one town on request, and records that it did.
    public func erase(tenant nisCode: String, household key: String) async throws -> PurgeCounts {
        guard let database = try await registry.database(nisCode) else {
            throw CommandFailure("\(nisCode) is not a town of this hub")
        }
        guard let counts = try database.erase(householdKey: key, at: now()) else {
            throw CommandFailure("town \(nisCode) has no household with key \(key.debugDescription)")
        }
        try ledger.recordPurge(tenant: nisCode, kind: "erasure", households: counts.households, events: counts.events, at: now())
        return counts
    }

    /// `waterhub purge`.
    public func purgeCommand() async throws {
        let report = try await purgeExpired()
        print("purged: \(report.households) closed case(s) (\(report.events) events), \(report.rawFiles) raw file(s), raw text of \(report.quarantinedRows) quarantined row(s)")
    }

    /// `waterhub erase`.
    public func eraseCommand(tenant: String, household: String) async throws {
        let counts = try await erase(tenant: tenant, household: household)
        print("erased the personal data of household \(household) in \(tenant): \(counts.events) event(s); recorded in the purge log")
        if !counts.logEmptied {
            print("warning: the town file's write-ahead log still holds the old values (a reader was busy); run the same command again to empty it")
        }
    }
}

/// Runs the retention purge inside `waterhub serve`, once a day at 03:00 Brussels time (a quiet
/// hour, and not at start-up, so a restart stays light).
public struct RetentionService: Service {
    let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = FeedScheduler.nextRun(of: .daily(hour: 3, minute: 0), after: hub.now())
                do { try await Task.sleep(for: .seconds(max(1, next.timeIntervalSince(hub.now())))) } catch { return }
                do {
                    _ = try await hub.purgeExpired()
                } catch {
                    hub.logger.error("retention purge failed: \(error)")
                }
            }
        }
    }
}
