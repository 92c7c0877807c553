import Foundation
import WaterHubCore

/// Where the hub keeps its files under the data directory.
///
/// ```
/// DATA_DIR/Tenants/11002-antwerpen.sqlite   one file per town
/// DATA_DIR/Tenants/hub.sqlite               the hub's ledger
/// DATA_DIR/Archive/<source>/<sha256>        raw files as fetched (provenance, replay)
/// DATA_DIR/Archive/staging/                 downloads in progress
/// DATA_DIR/Archive/spool/<batch>/           a batch split per town, until applied
/// ```
public struct DataDirectory: Sendable, Hashable {
    public let root: String

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public var tenants: String { "\(root)/Tenants" }
    public var ledger: String { "\(tenants)/hub.sqlite" }
    public var archive: String { "\(root)/Archive" }
    public var staging: String { "\(archive)/staging" }

    /// The town file of a tenant: NIS code first, then the name.
    public func tenantFile(_ tenant: Tenant) -> String { "\(tenants)/\(tenant.fileStem).sqlite" }

    /// The raw archive folder of one source.
    public func archive(source: String) -> String { "\(archive)/\(source)" }

    /// The spool folder of one batch.
    public func spool(batch: Int64) -> String { "\(archive)/spool/\(batch)" }

    /// Refuses a data directory whose town files or archive other users could read.
    public func checkPermissions() throws {
        for path in [tenants, archive] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
            if mode & 0o077 != 0 {
                throw StorageError(.unsafePermissions, "\(path) can be read by other users (mode \(String(mode, radix: 8))); it holds personal data. Fix it with: chmod 700 \(path)")
            }
        }
    }

    /// Creates the folders (mode 0700) when missing.
    public func create() throws {
        for path in [tenants, archive, staging, "\(archive)/spool"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }
}
