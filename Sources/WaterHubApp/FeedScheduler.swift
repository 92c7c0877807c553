import Foundation
import Logging
import ServiceLifecycle
import WaterHubConfig
import WaterHubStorage

/// Fetches each source on its schedule inside `waterhub serve`, raises the overdue alarm, and
/// stops on graceful shutdown, even in the middle of a transfer (which is then aborted and its
/// staging file removed).
public struct FeedScheduler: Service {
    let hub: Hub
    /// How often the scheduler wakes at the latest, to check for overdue sources.
    let checkInterval: Duration

    public init(hub: Hub, checkInterval: Duration = .seconds(3600)) {
        self.hub = hub
        self.checkInterval = checkInterval
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var next: [String: Date] = [:]
        for source in hub.configuration.sources {
            // A run missed while the hub was down is made up at start.
            next[source.id] = hub.isDue(source) ? hub.now() : FeedScheduler.nextRun(of: source.schedule, after: hub.now())
        }
        while !Task.isCancelled {
            hub.raiseOverdueAlarms()
            guard let (sourceID, due) = next.min(by: { $0.value < $1.value }),
                  let source = hub.configuration.sources.first(where: { $0.id == sourceID }) else { return }
            let wait = min(due.timeIntervalSince(hub.now()), Double(checkInterval.components.seconds))
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return }
                continue
            }
            let reports = await hub.fetchAndIngest(source)
            for report in reports {
                if report.needsAttention {
                    hub.logger.error("\(report.summary)")
                } else {
                    hub.logger.info("\(report.summary)")
                }
            }
            next[sourceID] = FeedScheduler.nextRun(of: source.schedule, after: hub.now())
        }
    }

    /// The next moment a schedule fires after `date`, in Brussels time (summer time included).
    public static func nextRun(of schedule: Schedule, after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels") ?? .current
        switch schedule {
        case .weekly(let weekday, let hour, let minute):
            let components = DateComponents(hour: hour, minute: minute, weekday: weekday % 7 + 1)
            return calendar.nextDate(after: date, matching: components, matchingPolicy: .nextTime) ?? date.addingTimeInterval(7 * 86_400)
        case .daily(let hour, let minute):
            return calendar.nextDate(after: date, matching: DateComponents(hour: hour, minute: minute), matchingPolicy: .nextTime)
                ?? date.addingTimeInterval(86_400)
        case .every(let minutes):
            return date.addingTimeInterval(TimeInterval(minutes * 60))
        }
    }

    /// The last moment the schedule fired at or before `date`. Calendar days, not 24-hour
    /// periods: a week that crosses a summer-time change is not 168 hours long.
    public static func previousRun(of schedule: Schedule, atOrBefore date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels") ?? .current
        switch schedule {
        case .weekly: return nextRun(of: schedule, after: calendar.date(byAdding: .day, value: -7, to: date) ?? date)
        case .daily: return nextRun(of: schedule, after: calendar.date(byAdding: .day, value: -1, to: date) ?? date)
        case .every(let minutes): return date.addingTimeInterval(-TimeInterval(minutes * 60))
        }
    }
}

/// How one source is doing, for `waterhub status` and `/healthz`.
public struct SourceStatus: Sendable {
    public var source: SourceConfiguration
    public var record: SourceRecord
    public var nextRun: Date
    /// When a new file was due at the latest (period plus grace after the last one).
    public var dueBy: Date
    public var isOverdue: Bool
}

extension Hub {
    /// Each source's status as of now.
    public func sourceStatuses() -> [SourceStatus] {
        configuration.sources.compactMap { source in
            guard let record = try? ledger.sourceRecord(source.id) else { return nil }
            let days = Double(source.fetch.expectedEveryDays + source.fetch.graceDays)
            let dueBy = (record.lastNewFile ?? record.firstSeen).addingTimeInterval(days * 86_400)
            return SourceStatus(source: source, record: record, nextRun: FeedScheduler.nextRun(of: source.schedule, after: now()),
                                dueBy: dueBy, isOverdue: now() > dueBy)
        }
    }

    /// The ids of the sources that are overdue now.
    public func overdueSources() -> [String] {
        sourceStatuses().filter(\.isOverdue).map(\.source.id)
    }

    /// Logs each newly overdue source once (and clears the mark of sources that delivered again);
    /// returns the sources whose alarm was raised now.
    @discardableResult
    public func raiseOverdueAlarms() -> [String] {
        var raised: [String] = []
        for status in sourceStatuses() {
            if status.isOverdue {
                if (try? ledger.setOverdue(status.source.id, since: now())) == true {
                    raised.append(status.source.id)
                    logger.error("source is overdue: no new file since \(status.record.lastNewFile.map { "\($0)" } ?? "the hub started"), due by \(status.dueBy)",
                                 metadata: ["source": "\(status.source.id)"])
                }
            } else if status.record.overdueSince != nil {
                _ = try? ledger.setOverdue(status.source.id, since: nil)
                logger.notice("source delivered again; no longer overdue", metadata: ["source": "\(status.source.id)"])
            }
        }
        return raised
    }

    /// Whether a source missed its last scheduled run (the hub was down) and should run now.
    func isDue(_ source: SourceConfiguration) -> Bool {
        guard let record = try? ledger.sourceRecord(source.id), let lastAttempt = record.lastAttempt else { return true }
        return lastAttempt < FeedScheduler.previousRun(of: source.schedule, atOrBefore: now())
    }

    /// `waterhub status`: per source, the last success, last error, next run and overdue state;
    /// then batches that need attention.
    public func statusCommand() throws {
        func show(_ date: Date?) -> String { date.map { "\($0)" } ?? "never" }
        for status in sourceStatuses() {
            let record = status.record
            print("\(status.source.id) (\(status.source.name))\(status.isOverdue ? "  OVERDUE: no new file since \(show(record.lastNewFile))" : "")")
            print("  last new file:   \(show(record.lastNewFile))   (due by \(status.dueBy))")
            print("  last success:    \(show(record.lastSuccess))")
            if let error = record.lastError { print("  last error:      \(error.at): \(error.message)") }
            print("  next run:        \(status.nextRun)   (\(status.source.schedule))")
        }
        let attention = try ledger.recentBatches(limit: 200).filter { $0.status == .held || $0.status == .routing || $0.status == .routed }
        for batch in attention {
            print("batch \(batch.id) (\(batch.source)): \(batch.status.rawValue)\(batch.message.map { ": \($0)" } ?? "")")
        }
    }
}
