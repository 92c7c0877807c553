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
        let startedAt = now()
        var towns: [TownObservations] = []
        for tenant in configuration.tenants {
            if FileManager.default.fileExists(atPath: directory.tenantFile(tenant)) {
                towns.append(try await registry.databaseForOnePass(tenant).statisticsObservations())
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
        // The store's time is when its reading began: a batch applied while the towns were being
        // read is newer than it, so the store counts as stale and the next check builds again.
        try statistics.replace(with: published, stampedAt: startedAt)
        let elapsed = ContinuousClock.now - started
        let withheld = published.weeks.reduce(0) { $0 + $1.table.suppressedPositions.count }
        let report = StatisticsRebuildReport(weeks: published.weeks.count, months: published.months.count, withheldWeeklyFigures: withheld,
                                             seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        logger.info("statistics rebuilt", metadata: ["weeks": "\(report.weeks)", "months": "\(report.months)",
                                                     "seconds": "\(String(format: "%.2f", report.seconds))"])
        return report
    }

    /// Whether the statistics store is missing, was built under another disclosure policy, or is
    /// older than the last batch applied to a town (its file time is when its build began reading). (Contacts the towns record between feeds are
    /// taken in by the daily rebuild; file times are no guide, SQLite writes town files when it
    /// closes them.)
    public func statisticsAreStale() -> Bool {
        guard let built = (try? FileManager.default.attributesOfItem(atPath: directory.statistics))?[.modificationDate] as? Date,
              let stored = try? statistics.loadPolicy(),
              stored.threshold == configuration.statistics.threshold,
              stored.protectionRange == configuration.statistics.effectiveProtectionRange else { return true }
        guard let applied = try? ledger.lastAppliedAt() else { return false }
        return applied > built
    }

    /// `waterhub stats rebuild`.
    public func rebuildStatisticsCommand() async throws {
        let report = try await rebuildStatistics()
        print("statistics rebuilt in \(String(format: "%.2f", report.seconds)) s: \(report.weeks) week(s), \(report.months) month(s), \(report.withheldWeeklyFigures) weekly figure(s) withheld (k = \(configuration.statistics.threshold), protection range \(configuration.statistics.effectiveProtectionRange)); \(directory.statistics)")
    }
}

/// Rebuilds the statistics inside `waterhub serve`, the process that serves them: whenever they
/// are stale (a batch applied after the last build, by this process's scheduler or by a
/// `waterhub fetch` from cron; or another disclosure policy), checked at start and then every
/// minute, in the background (the API answers meanwhile, /v1/stats from the previous build or
/// with 503 when there is none); and once a day regardless (contacts the towns record change
/// the outreach figures between feeds).
public struct StatisticsService: Service {
    let hub: Hub
    let checkInterval: Duration
    let dailyInterval: Duration

    public init(hub: Hub, checkInterval: Duration = .seconds(60), dailyInterval: Duration = .seconds(86_400)) {
        self.hub = hub
        self.checkInterval = checkInterval
        self.dailyInterval = dailyInterval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var lastBuild = clock.now
            // After a failed rebuild the next try waits longer (doubling, up to a day), so a
            // damaged town file does not make the hub read every town once a minute.
            var wait = checkInterval
            while !Task.isCancelled {
                if clock.now - lastBuild >= dailyInterval || hub.statisticsAreStale() {
                    do {
                        try await hub.rebuildStatistics()
                        wait = checkInterval
                    } catch {
                        hub.logger.error("the statistics could not be rebuilt: \(error)")
                        wait = min(wait * 2, dailyInterval)
                    }
                    lastBuild = clock.now
                }
                do { try await Task.sleep(for: wait) } catch { return }
            }
        }
    }
}
