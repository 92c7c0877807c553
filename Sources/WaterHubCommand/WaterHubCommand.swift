import ArgumentParser
import Foundation
import WaterHubApp

/// `waterhub`: the command line of the hub. It parses arguments and calls into `WaterHubApp`.
@main
struct WaterHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "waterhub",
        abstract: "Fetches the water companies' weekly feeds, splits them per town, and serves each town its own slice.",
        version: Hub.versionDescription,
        subcommands: [Serve.self, Fetch.self, Status.self, QuarantineCommand.self, Quality.self, Check.self, Verify.self, Backup.self,
                      Restore.self, Purge.self, Erase.self, TokenCommand.self, Audit.self, StatsCommand.self]
    )
}

/// Options every command takes.
struct HubOptions: ParsableArguments {
    @Option(help: "The configuration directory (hub.yaml, sources/, reference/).")
    var config = "Config"

    @Option(name: .customLong("data-dir"), help: "Where Tenants/ (town files, ledger) and Archive/ live; default: data_dir in hub.yaml, else the current directory.")
    var dataDirectory: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"

    /// Loads the configuration and opens the hub, or exits with the configuration's problems.
    func openHub() -> Hub {
        CommandRunner.secureDefaults()
        HubLogging.bootstrap(level: logLevel)
        return CommandRunner.run { try Hub.open(configDirectory: config, dataDirectory: dataDirectory) }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Runs the hub: the pull API and the feed scheduler, until SIGTERM or SIGINT.")

    @OptionGroup var options: HubOptions

    @Option(help: "The address to listen on (default: listen.host in hub.yaml).")
    var host: String?

    @Option(help: "The port to listen on (default: listen.port in hub.yaml).")
    var port: Int?

    @Flag(help: "Do not fetch feeds on their schedules (serve only).")
    var noSchedule = false

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.serve(host: host, port: port, schedule: !noSchedule) }
    }
}

struct Fetch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fetches and ingests every source (or one) once, then exits; exits 1 when a source failed or was held.")

    @OptionGroup var options: HubOptions

    @Argument(help: "Only this source id.")
    var source: String?

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.fetchCommand(source: source) }
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Checks every file's integrity and reconciles each town file with the ledger; exits 1 on any difference.")

    @OptionGroup var options: HubOptions

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.verifyCommand() }
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copies the ledger, every town file and the raw archive, consistently, while the hub serves.")

    @OptionGroup var options: HubOptions

    @Argument(help: "A new or empty folder for the backup.")
    var folder: String

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.backupCommand(to: folder) }
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Restores a backup into the data directory (the hub must be stopped), then verifies it.")

    @OptionGroup var options: HubOptions

    @Argument(help: "The backup folder (with waterhub-backup.json).")
    var folder: String

    func run() async throws {
        CommandRunner.secureDefaults()
        HubLogging.bootstrap(level: options.logLevel)
        await CommandRunner.run { try await Hub.restoreCommand(configDirectory: options.config, dataDirectory: options.dataDirectory, from: folder) }
    }
}

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Purges personal data past its retention now (waterhub serve also does this daily).")

    @OptionGroup var options: HubOptions

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.purgeCommand() }
    }
}

struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Erases one household's personal data in one town, on request; records that it did.")

    @OptionGroup var options: HubOptions

    @Option(help: "The town's NIS code.")
    var tenant: String

    @Option(help: "The household's key (as the API's cases list shows it).")
    var household: String

    func run() async throws {
        let hub = options.openHub()
        await CommandRunner.run { try await hub.eraseCommand(tenant: tenant, household: household) }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Shows each source's last success, last error, next run and overdue state.")

    @OptionGroup var options: HubOptions

    func run() async throws {
        let hub = options.openHub()
        CommandRunner.run { try hub.statusCommand() }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Shows the audit log: every API request with its time, token, town, endpoint, status and rows returned.")

    @OptionGroup var options: HubOptions

    @Option(help: "Only this town's requests (NIS code).")
    var tenant: String?

    @Option(help: "Only requests on or after this day (YYYY-MM-DD, UTC).")
    var since: String?

    @Option(help: "At most this many lines.")
    var limit = 10_000

    func run() async throws {
        let hub = options.openHub()
        CommandRunner.run { try hub.auditCommand(tenant: tenant, since: since, limit: limit) }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Loads and validates the configuration; lists every problem with its file, line and key.")

    @Option(help: "The configuration directory.")
    var config = "Config"

    func run() async throws {
        CommandRunner.run { try Hub.checkCommand(configDirectory: config) }
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issues, lists and revokes access tokens.",
        subcommands: [Issue.self, List.self, Revoke.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issues a token for one town (or for the statistics); prints it once.")

        @OptionGroup var options: HubOptions

        @Option(help: "The town's NIS code (not for scope stats).")
        var tenant: String?

        @Option(help: "read, contacts or stats.")
        var scope = "read"

        @Option(help: "How long the token is valid: 90d, 12h, or never.")
        var expires = "never"

        @Option(help: "A label to recognise the token by (a system, not a person).")
        var label: String?

        @Flag(help: "Print only the token, on one line.")
        var quiet = false

        func run() async throws {
            let hub = options.openHub()
            CommandRunner.run { try hub.issueTokenCommand(tenant: tenant, scope: scope, expires: expires, label: label, quiet: quiet) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the tokens (never their secrets).")

        @OptionGroup var options: HubOptions

        func run() async throws {
            let hub = options.openHub()
            CommandRunner.run { try hub.listTokensCommand() }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revokes a token at once.")

        @OptionGroup var options: HubOptions

        @Argument(help: "The token id (from token list).")
        var id: String

        func run() async throws {
            let hub = options.openHub()
            CommandRunner.run { try hub.revokeTokenCommand(id: id) }
        }
    }
}

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "The regional cell's statistics (published figures only).",
        subcommands: [Rebuild.self]
    )

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recomputes the statistics store from the town files and the ledger (serve does this within a minute of every ingest, and daily).")

        @OptionGroup var options: HubOptions

        func run() async throws {
            let hub = options.openHub()
            await CommandRunner.run { try await hub.rebuildStatisticsCommand() }
        }
    }
}
