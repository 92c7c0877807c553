import Foundation
import Logging
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubStorage

/// A command that cannot go on: what to tell the operator, and the exit code.
public struct CommandFailure: Error, CustomStringConvertible {
    public let message: String
    public let exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }
}

/// Runs a command body and turns its errors into a message on stderr and an exit code.
public enum CommandRunner {
    /// Files the hub creates are the operator's alone (mode 0600, folders 0700).
    public static func secureDefaults() {
        umask(0o077)
    }

    public static func run<T>(_ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            fail(error)
        }
    }

    public static func run<T>(_ body: () async throws -> T) async -> T {
        do {
            return try await body()
        } catch {
            fail(error)
        }
    }

    private static func fail(_ error: any Error) -> Never {
        let code = (error as? CommandFailure)?.exitCode ?? 1
        FileHandle.standardError.write(Data("waterhub: \(error)\n".utf8))
        exit(code)
    }
}

/// Logging to standard error, with the level chosen on the command line.
public enum HubLogging {
    public static func bootstrap(level: String) {
        let parsed = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsed
            return handler
        }
    }
}

extension Hub {
    /// Loads and validates the configuration, then opens the hub on its data directory.
    public static func open(configDirectory: String, dataDirectory: String?, logger: Logger = Logger(label: "waterhub")) throws -> Hub {
        let configuration = try ConfigurationLoader.load(directory: configDirectory)
        return try Hub(configuration: configuration, dataDirectory: dataDirectory, logger: logger)
    }

    /// `waterhub check`: every problem in the configuration, with file, line and key; then the
    /// secrets each source needs (named, never shown).
    public static func checkCommand(configDirectory: String) throws {
        let configuration = try ConfigurationLoader.load(directory: configDirectory)
        var missing: [String] = []
        for source in configuration.sources {
            for (key, reference) in source.credentials.secrets {
                if (try? Secrets.resolve(reference)) == nil {
                    missing.append("\(source.file): \(key): the secret in \(reference) is missing or empty")
                }
            }
            for (key, path) in source.referencedFiles where !FileManager.default.isReadableFile(atPath: path) {
                missing.append("\(source.file): \(key): cannot read \(path)")
            }
        }
        print("Configuration in \(configuration.directory):")
        print("  \(configuration.tenants.count) town(s): " + configuration.tenants.map { "\($0.nisCode) \($0.name)" }.joined(separator: ", "))
        for source in configuration.sources {
            print("  source \(source.id) (\(source.name)): \(source.dialect.format.rawValue), \(source.dialect.encoding.rawValue), \(source.schedule)")
        }
        if !missing.isEmpty {
            throw CommandFailure("secrets or files are missing:\n" + missing.map { "  " + $0 }.joined(separator: "\n"))
        }
        print("OK")
    }

    /// `waterhub fetch`: fetch and ingest every source (or one) once; a failure exits 1.
    public func fetchCommand(source: String?) async throws {
        if let source, !configuration.sources.contains(where: { $0.id == source }) {
            throw CommandFailure("there is no source \(source.debugDescription); sources are \(configuration.sources.map(\.id).joined(separator: ", "))")
        }
        let reports = try await fetchAll(only: source)
        for report in reports {
            print(report.summary)
            if case .ingested(_, _, let perTenant) = report.outcome {
                for (nisCode, count) in perTenant.sorted(by: { $0.key < $1.key }) {
                    print("    \(nisCode) \(configuration.tenant(nisCode)?.name ?? ""): \(count) event(s)")
                }
            }
        }
        if reports.contains(where: \.ingested) {
            // The statistics are derived from the town files, for the API that serves them:
            // `serve` rebuilds them when a batch is newer than they are (checked every minute).
            print("statistics: rebuilt by `waterhub serve` within a minute, or now by `waterhub stats rebuild`")
        }
        let failed = reports.filter(\.needsAttention)
        if !failed.isEmpty {
            throw CommandFailure("\(failed.count) of \(reports.count) source(s) need attention: \(failed.map(\.source).joined(separator: ", "))")
        }
    }

    /// `waterhub token issue`: prints the token once (alone with --quiet).
    public func issueTokenCommand(tenant: String?, scope scopeName: String, expires: String, label: String?, quiet: Bool) throws {
        guard let scope = TokenScope(rawValue: scopeName) else {
            throw CommandFailure("--scope must be one of \(TokenScope.allCases.map(\.rawValue).joined(separator: ", ")), got \(scopeName.debugDescription)")
        }
        var tenantCode: String?
        switch (scope, tenant) {
        case (.stats, .some):
            throw CommandFailure("a stats token reads the statistics of all towns and belongs to no town; leave out --tenant")
        case (.stats, .none):
            tenantCode = nil
        case (_, .none):
            throw CommandFailure("--tenant NIS is required for scope \(scope.rawValue)")
        case (_, .some(let code)):
            guard configuration.tenant(code) != nil else {
                throw CommandFailure("\(code) is not a town of this hub; towns are \(configuration.tenants.map(\.nisCode).joined(separator: ", "))")
            }
            tenantCode = code
        }
        let expiry = try Hub.parseExpiry(expires).map { now().addingTimeInterval($0) }
        let (token, info) = try ledger.issueToken(tenant: tenantCode, scope: scope, label: label, expiresAt: expiry, at: now())
        if quiet {
            print(token)
        } else {
            let town = tenantCode.flatMap { configuration.tenant($0) }.map { "\($0.nisCode) \($0.name)" } ?? "all towns (statistics)"
            print("Token \(info.id) for \(town), scope \(scope.rawValue)\(expiry.map { ", expires \($0)" } ?? ", no expiry"):")
            print("")
            print("  \(token)")
            print("")
            print("It is shown only now; the hub keeps only a salted hash.")
        }
    }

    /// `waterhub token list`.
    public func listTokensCommand() throws {
        let tokens = try ledger.tokens()
        if tokens.isEmpty { print("no tokens"); return }
        for token in tokens {
            var state = "active"
            if token.revokedAt != nil { state = "revoked" } else if let expiry = token.expiresAt, expiry <= now() { state = "expired" }
            print([token.id, token.tenant ?? "-", token.scope.rawValue, state, "created \(token.createdAt)",
                   token.expiresAt.map { "expires \($0)" } ?? "no expiry", token.lastUsedAt.map { "last used \($0)" } ?? "never used",
                   token.label ?? ""].joined(separator: "  "))
        }
    }

    /// `waterhub token revoke ID`.
    public func revokeTokenCommand(id: String) throws {
        guard try ledger.revokeToken(id: id, at: now()) else { throw CommandFailure("there is no token \(id.debugDescription)") }
        print("token \(id) revoked")
    }

    /// `waterhub audit [--tenant NIS] [--since DATE]`: who asked what, when, and what they got
    /// (time, token, town, method, endpoint, status, rows), oldest first; never personal data.
    public func auditCommand(tenant: String?, since: String?, limit: Int) throws {
        if let tenant, configuration.tenant(tenant) == nil {
            throw CommandFailure("\(tenant) is not a town of this hub; towns are \(configuration.tenants.map(\.nisCode).joined(separator: ", "))")
        }
        var start: Date?
        if let since {
            guard let day = CalendarDate(iso: since) else { throw CommandFailure("--since takes a date as YYYY-MM-DD, got \(since.debugDescription)") }
            start = Date(timeIntervalSince1970: TimeInterval(day.daysSinceEpoch) * 86_400)
        }
        let entries = try ledger.audit(tenant: tenant, since: start, limit: limit)
        if entries.isEmpty { print("no requests"); return }
        let formatter = ISO8601DateFormatter()
        print(["time", "token", "town", "method", "endpoint", "status", "rows"].joined(separator: "\t"))
        for entry in entries {
            print([formatter.string(from: entry.at), entry.tokenID ?? "-", entry.tenant ?? "-", entry.method, entry.endpoint,
                   String(entry.status), String(entry.rows)].joined(separator: "\t"))
        }
        if entries.count == limit { print("(the first \(limit); use --since or --limit for more)") }
    }

    /// `90d`, `12h`, `30m` or `never` as seconds.
    static func parseExpiry(_ text: String) throws -> TimeInterval? {
        if text == "never" { return nil }
        guard let unit = text.last, let number = Double(text.dropLast()), number > 0 else {
            throw CommandFailure("--expires takes a number and a unit (90d, 12h, 30m) or never, got \(text.debugDescription)")
        }
        switch unit {
        case "d": return number * 86_400
        case "h": return number * 3600
        case "m": return number * 60
        default: throw CommandFailure("--expires takes a number and a unit (90d, 12h, 30m) or never, got \(text.debugDescription)")
        }
    }
}
