import Foundation
import Logging
import WaterHubAPI
import WaterHubConfig
import WaterHubCore
import WaterHubFetch
import WaterHubStorage

/// The running hub's parts, built once from the configuration and shared by the CLI commands,
/// the scheduler and the API.
public final class Hub: Sendable {
    /// What `waterhub --version` says: the SQLite built into the binary (Sources/CSQLite).
    public static var versionDescription: String { "waterhub, with SQLite \(SQLiteBuild.description)" }

    public let configuration: HubConfiguration
    public let directory: DataDirectory
    public let ledger: Ledger
    /// The API's audit entries, written with group commit.
    public let auditLog: AuditLog
    public let registry: TenantRegistry
    /// The regional cell's statistics store: rebuilt by `rebuildStatistics`, read by the API.
    public let statistics: StatisticsStore
    /// Event pages the API answered lately, kept while their town file is unchanged.
    public let pages = PageCache()
    public let fetcher: CurlFetcher
    public let logger: Logger
    /// The clock, injectable so that tests can move time without sleeping.
    public let now: @Sendable () -> Date
    /// The first retry delay of a failed fetch; later ones double (tests make it short).
    public let retryBaseDelay: Duration
    /// How many parts of a large CSV file are routed at once (one per core, at most four), and
    /// from what size a file is split (see `routeInParts`; tests split small files).
    public let routingParts: Int
    public let routingPartMinimumBytes: Int
    /// How many new files of one drop-folder run are routed before they are applied together:
    /// their spools wait on disk meanwhile, so a replay of a long archive goes in groups.
    public let filesAppliedTogether: Int

    /// Opens (creating when missing) the data directory, the ledger and the town registry.
    public init(configuration: HubConfiguration, dataDirectory: String? = nil, logger: Logger = Logger(label: "waterhub"),
                now: @escaping @Sendable () -> Date = { Date() }, retryBaseDelay: Duration = .seconds(2),
                routingParts: Int = min(ProcessInfo.processInfo.activeProcessorCount, 4), routingPartMinimumBytes: Int = 8 << 20,
                filesAppliedTogether: Int = 8) throws {
        self.configuration = configuration
        directory = DataDirectory(root: dataDirectory ?? configuration.dataDirectory)
        try directory.create()
        try directory.checkPermissions()
        ledger = try Ledger(path: directory.ledger)
        auditLog = AuditLog(ledger: ledger)
        registry = TenantRegistry(directory: directory, tenants: configuration.tenants)
        statistics = StatisticsStore(path: directory.statistics)
        fetcher = CurlFetcher(logger: logger)
        self.logger = logger
        self.now = now
        self.retryBaseDelay = retryBaseDelay
        self.routingParts = routingParts
        self.routingPartMinimumBytes = routingPartMinimumBytes
        self.filesAppliedTogether = max(1, filesAppliedTogether)
        try ledger.noteSources(configuration.sources.map(\.id), at: now())
    }

    /// Today in Brussels: the day feeds and the law count in.
    public var today: CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Brussels") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day], from: now())
        return CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)!
    }
}
