import Foundation
import Logging
import ServiceLifecycle
import WaterHubConfig
import WaterHubStorage

/// Fetches each source on its schedule, inside `waterhub serve`; stops on graceful shutdown,
/// even in the middle of a transfer (which is then aborted and its staging file removed).
public struct FeedScheduler: Service {
    let hub: Hub

    public init(hub: Hub) {
        self.hub = hub
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var next: [String: Date] = [:]
        for source in hub.configuration.sources {
            let neverFetched = ((try? hub.ledger.lastSuccessfulFetch(source: source.id)) ?? nil) == nil
            next[source.id] = neverFetched ? hub.now() : FeedScheduler.nextRun(of: source.schedule, after: hub.now())
        }
        while !Task.isCancelled {
                guard let (sourceID, due) = next.min(by: { $0.value < $1.value }),
                      let source = hub.configuration.sources.first(where: { $0.id == sourceID }) else { return }
                let wait = due.timeIntervalSince(hub.now())
                if wait > 0 {
                    do { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return }
                }
                let report = await hub.fetchAndIngest(source)
                if report.needsAttention {
                    hub.logger.error("\(report.summary)")
                } else {
                    hub.logger.info("\(report.summary)")
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
}
