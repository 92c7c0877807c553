import Foundation
import WaterHubConfig
import WaterHubCore
import WaterHubStorage

/// What a backup folder holds: every file with its size and SHA-256, so that a restore can
/// prove it puts back exactly what was copied.
public struct BackupManifest: Codable, Sendable {
    public struct File: Codable, Sendable, Hashable {
        /// The path relative to the data directory (`Tenants/11002-antwerpen.sqlite`).
        public var path: String
        public var bytes: Int64
        public var sha256: String
    }

    public var createdAt: Date
    public var files: [File]

    public static let fileName = "waterhub-backup.json"
}

extension Hub {
    /// `waterhub backup DIR`: a consistent online copy of the ledger, every town file and the raw
    /// archive, while the hub goes on serving. It holds the ingest lock (and first finishes any
    /// interrupted batch), so that no batch is half applied across the copied files.
    public func backup(to destination: String) async throws -> BackupManifest {
        let fileManager = FileManager.default
        if let existing = try? fileManager.contentsOfDirectory(atPath: destination), !existing.isEmpty {
            throw CommandFailure("the backup folder \(destination) is not empty; give a new or empty folder")
        }
        try fileManager.createDirectory(atPath: "\(destination)/Tenants", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try await withIngestLock {
            try await finishUnfinishedBatchesHoldingLock()
            var files: [BackupManifest.File] = []
            func add(_ relative: String) throws {
                let path = "\(destination)/\(relative)"
                let bytes = (try fileManager.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
                files.append(.init(path: relative, bytes: bytes, sha256: try DatabaseFiles.sha256(ofFile: path)))
            }
            try ledger.backup(to: "\(destination)/Tenants/hub.sqlite")
            try add("Tenants/hub.sqlite")
            for tenant in configuration.tenants where fileManager.fileExists(atPath: directory.tenantFile(tenant)) {
                let database = try await registry.databaseForOnePass(tenant)
                let relative = "Tenants/\(tenant.fileStem).sqlite"
                try database.backup(to: "\(destination)/\(relative)")
                try add(relative)
            }
            for source in (try? fileManager.contentsOfDirectory(atPath: directory.archive)) ?? [] where !["staging", "spool"].contains(source) {
                let folder = "\(directory.archive)/\(source)"
                for name in (try? fileManager.contentsOfDirectory(atPath: folder)) ?? [] {
                    let relative = "Archive/\(source)/\(name)"
                    try fileManager.createDirectory(atPath: "\(destination)/Archive/\(source)", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
                    try fileManager.copyItem(atPath: "\(folder)/\(name)", toPath: "\(destination)/\(relative)")
                    try add(relative)
                }
            }
            let manifest = BackupManifest(createdAt: now(), files: files)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(manifest).write(to: URL(fileURLWithPath: "\(destination)/\(BackupManifest.fileName)"))
            return manifest
        }
    }

    /// `waterhub restore DIR`: puts a backup back into a data directory. Refuses while a hub
    /// serves or ingests there; checks every file against the manifest first; sets the files it
    /// replaces aside in `Tenants/replaced-<time>/` instead of deleting them.
    public static func restore(from backup: String, into directory: DataDirectory, at date: Date = Date()) throws -> BackupManifest {
        let fileManager = FileManager.default
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let data = fileManager.contents(atPath: "\(backup)/\(BackupManifest.fileName)"),
              let manifest = try? decoder.decode(BackupManifest.self, from: data) else {
            throw CommandFailure("\(backup) is not a WaterHub backup: \(BackupManifest.fileName) is missing or unreadable")
        }
        for file in manifest.files {
            guard file.path.hasPrefix("Tenants/") || file.path.hasPrefix("Archive/"), !file.path.contains("..") else {
                throw CommandFailure("the manifest names an unexpected path \(file.path)")
            }
            let actual = try DatabaseFiles.sha256(ofFile: "\(backup)/\(file.path)")
            guard actual == file.sha256 else {
                throw CommandFailure("\(backup)/\(file.path) does not match the manifest (damaged or changed); nothing was restored")
            }
        }
        try directory.create()
        return try DataDirectoryLock.whileIdle(directory) {
            let aside = "\(directory.tenants)/replaced-\(Int(date.timeIntervalSince1970))"
            for name in (try? fileManager.contentsOfDirectory(atPath: directory.tenants)) ?? [] where name.contains(".sqlite") {
                try fileManager.createDirectory(atPath: aside, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try fileManager.moveItem(atPath: "\(directory.tenants)/\(name)", toPath: "\(aside)/\(name)")
            }
            for file in manifest.files {
                let target = "\(directory.root)/\(file.path)"
                try fileManager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
                if file.path.hasPrefix("Archive/"), fileManager.fileExists(atPath: target) { continue }
                try fileManager.copyItem(atPath: "\(backup)/\(file.path)", toPath: target)
                try fileManager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
            }
            return manifest
        }
    }
}

/// The locks a data directory is guarded by: `serve.lock` for as long as a hub serves, and
/// `ingest.lock` while one ingests.
public enum DataDirectoryLock {
    /// Runs `body` only when no process serves or ingests in `directory`.
    static func whileIdle<T>(_ directory: DataDirectory, _ body: () throws -> T) throws -> T {
        var held: [Int32] = []
        defer { for descriptor in held { flock(descriptor, LOCK_UN); close(descriptor) } }
        for name in ["serve.lock", "ingest.lock"] {
            let descriptor = open("\(directory.tenants)/\(name)", O_RDWR | O_CREAT, 0o600)
            guard descriptor >= 0 else { throw CommandFailure("cannot open \(directory.tenants)/\(name)") }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                close(descriptor)
                throw CommandFailure("a waterhub process is \(name == "serve.lock" ? "serving" : "ingesting") on \(directory.root); stop it first")
            }
            held.append(descriptor)
        }
        return try body()
    }

    /// Holds `serve.lock` for the life of the process; fails when another hub serves here.
    static func holdForServing(_ directory: DataDirectory) throws -> Int32 {
        let descriptor = open("\(directory.tenants)/serve.lock", O_RDWR | O_CREAT, 0o600)
        guard descriptor >= 0 else { throw CommandFailure("cannot open \(directory.tenants)/serve.lock") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw CommandFailure("another waterhub serve is already running on \(directory.root)")
        }
        return descriptor
    }
}

extension Hub {
    /// `waterhub backup DIR`.
    public func backupCommand(to destination: String) async throws {
        let manifest = try await backup(to: destination)
        let bytes = manifest.files.reduce(0) { $0 + $1.bytes }
        print("backed up \(manifest.files.count) file(s), \(bytes) bytes, to \(destination) (manifest: \(BackupManifest.fileName))")
    }

    /// `waterhub restore DIR`: restores, then verifies the restored files.
    public static func restoreCommand(configDirectory: String, dataDirectory: String?, from backup: String) async throws {
        let configuration = try ConfigurationLoader.load(directory: configDirectory)
        let directory = DataDirectory(root: dataDirectory ?? configuration.dataDirectory)
        let manifest = try restore(from: backup, into: directory)
        print("restored \(manifest.files.count) file(s) from the backup of \(manifest.createdAt) into \(directory.root)")
        let hub = try Hub(configuration: configuration, dataDirectory: directory.root)
        try await hub.verifyCommand()
    }
}
