import Foundation
import Logging
import WaterHubStorage

extension Hub {
    /// Runs `body` while this process alone may ingest into the data directory.
    ///
    /// `waterhub fetch`, `waterhub backup` and a running `waterhub serve` share one data
    /// directory; an exclusive `flock` on `Tenants/ingest.lock` makes them take turns (a second
    /// process waits), and the kernel releases it when a process dies, even by SIGKILL. Staging
    /// files and half-built town files left by a killed process are removed once the lock is held.
    @discardableResult
    public func withIngestLock<T>(_ body: () async throws -> T) async throws -> T {
        let descriptor = Foundation.open(directory.tenants + "/ingest.lock", O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw StorageError(.damagedFile, "cannot open \(directory.tenants)/ingest.lock") }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            logger.notice("another waterhub process is ingesting into \(directory.root); waiting for it")
            try await Task.detached {
                guard flock(descriptor, LOCK_EX) == 0 else { throw StorageError(.damagedFile, "cannot lock \(self.directory.tenants)/ingest.lock") }
            }.value
        }
        defer { flock(descriptor, LOCK_UN) }
        removeStagingLeftovers()
        TenantDatabase.removeUnfinishedNewFiles(in: directory.tenants)
        return try await body()
    }

    private func removeStagingLeftovers() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.staging)) ?? []
        for name in names where name.hasSuffix(".part") {
            try? FileManager.default.removeItem(atPath: "\(directory.staging)/\(name)")
        }
    }
}
