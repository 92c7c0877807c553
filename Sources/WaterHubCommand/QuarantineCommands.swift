import ArgumentParser
import WaterHubApp

struct QuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine",
        abstract: "Lists, shows and releases rows (and whole files) held back from ingest.",
        subcommands: [List.self, Show.self, Release.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists held rows with their line and reason (no personal data), and held files.")

        @OptionGroup var options: HubOptions
        @Option(help: "Only this source.") var source: String?
        @Option(help: "Only this batch.") var batch: Int64?
        @Flag(help: "Also rows released since.") var all = false

        func run() async throws {
            let hub = options.openHub()
            CommandRunner.run { try hub.quarantineListCommand(source: source, batchID: batch, includeReleased: all) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Shows one held row, with the raw line as it stood in the file (personal data).")

        @OptionGroup var options: HubOptions
        @Argument(help: "The row's id (from quarantine list).") var id: Int64

        func run() async throws {
            let hub = options.openHub()
            CommandRunner.run { try hub.quarantineShowCommand(id: id) }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reads held rows (or a held file) again with the current configuration and stores those that now pass.")

        @OptionGroup var options: HubOptions
        @Option(help: "The batch whose held rows (or held file) to release.") var batch: Int64?
        @Option(help: "Every batch of this source with held rows or a held file.") var source: String?

        func run() async throws {
            let hub = options.openHub()
            await CommandRunner.run { try await hub.quarantineReleaseCommand(batchID: batch, source: source) }
        }
    }
}

struct Quality: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The data-quality report of a batch, for the water company: counts per reason and line numbers, no personal data.")

    @OptionGroup var options: HubOptions
    @Argument(help: "The batch id (waterhub fetch and status show it).") var batch: Int64
    @Flag(help: "JSON instead of text.") var json = false

    func run() async throws {
        let hub = options.openHub()
        CommandRunner.run { try hub.qualityCommand(batchID: batch, json: json) }
    }
}
