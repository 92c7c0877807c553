import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import WaterHubConfig
import WaterHubCore
import WaterHubDisclosure
import WaterHubStatistics
import WaterHubStorage

/// What one rebuild of the statistics did.
public struct StatisticsRebuildReport: Sendable {
    public var weeks: Int
    public var months: Int
    public var withheldWeeklyFigures: Int
    public var seconds: Double
}

extension Hub {
    /// The disclosure policy of `statistics.*`.
    public var disclosurePolicy: DisclosurePolicy {
        DisclosurePolicy(threshold: configuration.statistics.threshold, protectionRange: configuration.statistics.effectiveProtectionRange)
    }

    /// Recomputes the regional statistics from every town file and the ledger, and replaces the
    /// statistics store with the result. Reads only; a town without a file counts as empty.
    @discardableResult
    public func rebuildStatistics() async throws -> StatisticsRebuildReport {
        let started = ContinuousClock.now
        var towns: [TownObservations] = []
        for tenant in configuration.tenants {
            if FileManager.default.fileExists(atPath: directory.tenantFile(tenant)), let database = try await registry.databaseForOnePass(tenant.nisCode) {
                towns.append(try await database.statisticsObservations())
            } else {
                towns.append(TownObservations(tenant: tenant))
            }
        }
        let feeds = try ledger.feedObservations(sources: configuration.sources.map { ($0.id, $0.name) })
        let policy = disclosurePolicy
        // Minutes of work on a large history: on threads of its own, not the pool that answers requests.
        let observed = towns
        let published = await withCheckedContinuation { (done: CheckedContinuation<PublishedStatistics, Never>) in
            DispatchQueue.global(qos: .utility).async {
                done.resume(returning: StatisticsBuilder.publish(towns: observed, feeds: feeds, policy: policy))
            }
        }
        try StatisticsStore(path: directory.statistics).replace(with: published)
        let elapsed = ContinuousClock.now - started
        let withheld = published.weeks.reduce(0) { $0 + $1.table.suppressedPositions.count }
        let report = StatisticsRebuildReport(weeks: published.weeks.count, months: published.months.count, withheldWeeklyFigures: withheld,
                                             seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        logger.info("statistics rebuilt", metadata: ["weeks": "\(report.weeks)", "months": "\(report.months)",
                                                     "seconds": "\(String(format: "%.2f", report.seconds))"])
        return report
    }

    /// Whether the statistics store is missing, was built under another disclosure policy, or is
    /// older than the last batch applied to a town. (Contacts the towns record between feeds are
    /// taken in by the daily rebuild; file times are no guide, SQLite writes town files when it
    /// closes them.)
    public func statisticsAreStale() -> Bool {
        guard let built = (try? FileManager.default.attributesOfItem(atPath: directory.statistics))?[.modificationDate] as? Date,
              let stored = try? StatisticsStore(path: directory.statistics).loadPolicy(),
              stored.threshold == configuration.statistics.threshold,
              stored.protectionRange == configuration.statistics.effectiveProtectionRange else { return true }
        guard let applied = try? ledger.lastAppliedAt() else { return false }
        return applied > built
    }

    /// Rebuilds the statistics when one of the reports stored a new batch; a failure is logged,
    /// never fatal to the ingest (the next rebuild catches up).
    func rebuildStatisticsIfIngested(_ reports: [SourceReport]) async {
        guard reports.contains(where: { if case .ingested = $0.outcome { true } else { false } }) else { return }
        do {
            try await rebuildStatistics()
        } catch {
            logger.error("the statistics could not be rebuilt: \(error)")
        }
    }

    /// `waterhub stats rebuild`.
    public func rebuildStatisticsCommand() async throws {
        let report = try await rebuildStatistics()
        print("statistics rebuilt in \(String(format: "%.2f", report.seconds)) s: \(report.weeks) week(s), \(report.months) month(s), \(report.withheldWeeklyFigures) weekly figure(s) withheld (k = \(configuration.statistics.threshold), protection range \(configuration.statistics.effectiveProtectionRange)); \(directory.statistics)")
    }
}

/// Rebuilds the statistics inside `waterhub serve`: at start when they are stale (in the
/// background: the API answers meanwhile, /v1/stats from the previous build or with 503 when
/// there is none), then once a day (contacts the towns record change the outreach figures between feeds).
public struct StatisticsService: Service {
    let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            if hub.statisticsAreStale() {
                do {
                    try await hub.rebuildStatistics()
                } catch {
                    hub.logger.error("the statistics could not be rebuilt at start: \(error)")
                }
            }
            while !Task.isCancelled {
                do { try await Task.sleep(for: .seconds(86_400)) } catch { return }
                do {
                    try await hub.rebuildStatistics()
                } catch {
                    hub.logger.error("the daily statistics rebuild failed: \(error)")
                }
            }
        }
    }
}
