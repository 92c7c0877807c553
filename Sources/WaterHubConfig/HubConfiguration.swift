import WaterHubCore
import WaterHubDialects

/// The whole configuration of a hub, read from a `Config/` directory and validated once.
public struct HubConfiguration: Sendable {
    /// The directory the configuration was read from.
    public var directory: String
    /// Where the pull API listens (`listen.host`, default 127.0.0.1).
    public var host = "127.0.0.1"
    /// `listen.port`, default 8080.
    public var port = 8080
    /// `listen.tls_certificate` and `listen.tls_key`: serve HTTPS itself; nil serves plain HTTP (behind a proxy).
    public var tls: TLSFiles?
    /// `api.*`: limits of the pull API.
    public var api = APILimits()
    /// `aftercare.*`: when a household needs outreach or aftercare.
    public var aftercare = AftercareRules()
    /// `contacts.roles`: the role codes a contact may name (never a person's name).
    public var contactRoles = ContactRole.defaults
    /// `data_dir`: where `Tenants/` (town files and ledger) and `Archive/` live; default `.`.
    public var dataDirectory = "."
    /// The towns this hub serves, by NIS code.
    public var tenants: [Tenant] = []
    /// The water companies whose feeds the hub fetches.
    public var sources: [SourceConfiguration] = []
    /// The 2025 postal code and NIS tables, and the 2025 mergers.
    public var reference: ReferenceData
    /// `validation.earliest_date` and `validation.max_days_ahead`.
    public var rules = EventRules()
    /// `validation.max_quarantined_share`: a file with a larger share of bad rows is held whole.
    public var maximumQuarantinedShare = 0.2
    /// `retention.closed_case_months`: personal data of a closed case is purged this long after its last event.
    public var closedCaseRetentionMonths = 24
    /// `retention.raw_archive_days`: raw feed files (and quarantined raw rows) are purged after this; a source may set its own.
    public var rawArchiveRetentionDays = 730
    /// `statistics.*`: disclosure control of the regional cell's statistics.
    public var statistics = StatisticsSettings()

    public init(directory: String, reference: ReferenceData) {
        self.directory = directory
        self.reference = reference
    }

    /// The tenant with this NIS code.
    public func tenant(_ nisCode: String) -> Tenant? {
        tenants.first { $0.nisCode == nisCode }
    }
}

/// The certificate chain and private key the hub serves HTTPS with (PEM files).
public struct TLSFiles: Sendable, Hashable {
    /// `listen.tls_certificate`: the certificate chain, leaf first.
    public var certificate: String
    /// `listen.tls_key`: the private key; readable by the hub's user only.
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// Limits of the pull API, per token and per request.
public struct APILimits: Sendable, Hashable {
    /// `api.requests_per_minute`: a token that asks more often gets 429 with `Retry-After`.
    public var requestsPerMinute = 600
    /// `api.max_body_bytes`: a larger request body gets 413.
    public var maxBodyBytes = 64 * 1024

    public init() {}
}

/// One water company's feed: where to fetch it, how often, and its dialect.
public struct SourceConfiguration: Sendable {
    /// A short id (`aquaflan`), used in the ledger, logs and provenance; the file name by default.
    public var id: String
    /// The company's name as people know it.
    public var name: String
    /// Where to fetch: `https://`, `http://`, `sftp://` or `file://` (credentials never here).
    public var url: String
    public var dialect: Dialect
    /// When to fetch (`weekly monday 06:00`), in the hub's time zone.
    public var schedule: Schedule
    /// Limits and retries for one fetch.
    public var fetch = FetchSettings()
    /// Credentials, as references to environment variables or files.
    public var credentials = Credentials()
    /// `archive_retention_days`: how long this source's raw files are kept (default: the hub's).
    public var archiveRetentionDays: Int?
    /// `tls.*`: CA bundle, pinned public keys, client certificate (https only).
    public var tls = TLSSettings()
    /// `sftp.*`: how the server's host key is checked (sftp only; one of the two is required).
    public var sftp = SFTPSettings()

    /// Files the source needs at fetch time (besides secrets), with their keys, for `waterhub check`.
    public var referencedFiles: [(key: String, path: String)] {
        var files: [(String, String)] = []
        if let path = tls.caBundle { files.append(("tls.ca_bundle", path)) }
        if let path = tls.clientCertificate { files.append(("tls.client_certificate", path)) }
        if let path = tls.clientKey { files.append(("tls.client_key", path)) }
        if let path = sftp.knownHosts { files.append(("sftp.known_hosts", path)) }
        if let path = credentials.privateKeyFile { files.append(("auth.private_key_file", path)) }
        return files
    }
    /// The file this source is defined in, for messages.
    public var file: String

    public init(id: String, name: String, url: String, dialect: Dialect, schedule: Schedule, file: String) {
        self.id = id
        self.name = name
        self.url = url
        self.dialect = dialect
        self.schedule = schedule
        self.file = file
    }
}

/// How often a source is fetched.
public enum Schedule: Sendable, Hashable, CustomStringConvertible {
    /// Every week on `weekday` (1 = Monday … 7 = Sunday) at hour:minute.
    case weekly(weekday: Int, hour: Int, minute: Int)
    /// Every day at hour:minute.
    case daily(hour: Int, minute: Int)
    /// Every so many minutes.
    case every(minutes: Int)

    static let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    public var description: String {
        func time(_ hour: Int, _ minute: Int) -> String {
            "\(hour < 10 ? "0" : "")\(hour):\(minute < 10 ? "0" : "")\(minute)"
        }
        switch self {
        case .weekly(let weekday, let hour, let minute): return "weekly \(Schedule.weekdays[weekday - 1]) \(time(hour, minute))"
        case .daily(let hour, let minute): return "daily \(time(hour, minute))"
        case .every(let minutes): return "every \(minutes)m"
        }
    }

    /// Parses `weekly monday 06:00`, `daily 06:00` or `every 30m` / `every 2h`.
    public init?(_ text: String) {
        let words = text.lowercased().split(separator: " ").map(String.init)
        func time(_ word: String) -> (Int, Int)? {
            let parts = word.split(separator: ":")
            guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
                  (0...23).contains(hour), (0...59).contains(minute) else { return nil }
            return (hour, minute)
        }
        switch words.first {
        case "weekly":
            guard words.count == 3, let day = Schedule.weekdays.firstIndex(of: words[1]), let (hour, minute) = time(words[2]) else { return nil }
            self = .weekly(weekday: day + 1, hour: hour, minute: minute)
        case "daily":
            guard words.count == 2, let (hour, minute) = time(words[1]) else { return nil }
            self = .daily(hour: hour, minute: minute)
        case "every":
            guard words.count == 2, let unit = words[1].last, let number = Int(words[1].dropLast()), number > 0 else { return nil }
            switch unit {
            case "m": self = .every(minutes: number)
            case "h": self = .every(minutes: number * 60)
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Limits and retries for fetching one source.
public struct FetchSettings: Sendable, Hashable {
    /// `connect_timeout`, seconds.
    public var connectTimeoutSeconds = 15
    /// `timeout`: the whole transfer, seconds.
    public var totalTimeoutSeconds = 300
    /// `low_speed_limit` bytes per second for `low_speed_time` seconds aborts a stalled transfer.
    public var lowSpeedBytesPerSecond = 100
    public var lowSpeedSeconds = 30
    /// `max_bytes`: a larger file is refused.
    public var maxBytes: Int64 = 512 << 20
    /// `retries`: how often a temporary failure is tried again.
    public var retries = 3
    /// `expected_every`: a new file is expected this often (days); later is overdue after the grace.
    public var expectedEveryDays = 7
    /// `grace_days`: slack before a late source counts as overdue.
    public var graceDays = 2

    public init() {}
}

/// TLS settings of an https source.
public struct TLSSettings: Sendable, Hashable {
    /// `tls.ca_bundle`: a CA bundle instead of the system store.
    public var caBundle: String?
    /// `tls.pinned_public_keys`: `sha256//BASE64` values; any one may match (several for rotation).
    public var pinnedPublicKeys: [String] = []
    /// `tls.client_certificate` and `tls.client_key`: PEM files for client authentication.
    public var clientCertificate: String?
    public var clientKey: String?

    public init() {}
}

/// How an sftp source's host key is checked: the hub never talks to an unverified server.
public struct SFTPSettings: Sendable, Hashable {
    /// `sftp.known_hosts`: a known_hosts file that must hold the server's key.
    public var knownHosts: String?
    /// `sftp.host_key_sha256`: the server key's fingerprint, as `ssh-keygen -l -E sha256` prints it.
    public var hostKeySHA256: String?

    public init() {}
}

/// A secret named in the configuration: an environment variable or a file, never the value.
public struct SecretReference: Sendable, Hashable, CustomStringConvertible {
    public enum Location: Sendable, Hashable {
        case environment(String)
        case file(String)
    }

    public let location: Location

    public init(_ location: Location) { self.location = location }

    public var description: String {
        switch location {
        case .environment(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        }
    }
}

/// How a source authenticates; every secret is a reference.
public struct Credentials: Sendable, Hashable {
    public var username: String?
    public var password: SecretReference?
    public var bearerToken: SecretReference?
    /// `auth.private_key_file`: the SFTP private key (a file, so a secret by reference already).
    public var privateKeyFile: String?
    /// `auth.private_key_passphrase_env` / `_file`.
    public var privateKeyPassphrase: SecretReference?

    public init() {}

    /// Every secret this source needs.
    public var secrets: [(key: String, reference: SecretReference)] {
        var result: [(String, SecretReference)] = []
        if let password { result.append(("auth.password", password)) }
        if let bearerToken { result.append(("auth.bearer_token", bearerToken)) }
        if let privateKeyFile { result.append(("auth.private_key_file", SecretReference(.file(privateKeyFile)))) }
        if let privateKeyPassphrase { result.append(("auth.private_key_passphrase", privateKeyPassphrase)) }
        return result
    }
}
