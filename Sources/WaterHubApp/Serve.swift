import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import WaterHubConfig

extension Hub {
    /// `waterhub serve`: finishes any interrupted batch, then runs the pull API, the statistics
    /// (rebuilt in the background when stale) and (unless disabled) the feed scheduler until
    /// SIGTERM or SIGINT.
    public func serve(host: String?, port: Int?, schedule: Bool) async throws {
        let lock = try DataDirectoryLock.holdForServing(directory)
        defer { close(lock) }
        try await finishUnfinishedBatches()
        let services: [any Service] = (schedule ? [FeedScheduler(hub: self)] : []) + [RetentionService(hub: self), StatisticsService(hub: self)]
        let scheme = configuration.tls == nil ? "http" : "https"
        let address = "\(scheme)://\(host ?? configuration.host):\(port ?? configuration.port)"
        let app = try buildApplication(hub: self, host: host, port: port, services: services) { [logger] _ in
            logger.notice("WaterHub is serving on \(address) (\(self.configuration.tenants.count) towns, \(self.configuration.sources.count) sources)")
        }
        try await app.runService()
    }
}
