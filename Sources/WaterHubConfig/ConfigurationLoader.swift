import Foundation
import WaterHubCore
import WaterHubDialects

/// Reads a `Config/` directory: `hub.yaml`, `sources/*.yaml` and `reference/*.csv`.
///
/// Every problem is collected (not just the first), each with its file, line and key, so that
/// `waterhub check` can list them all at once.
public enum ConfigurationLoader {
    /// The reference tables, copied from Statbel's 2025 map and the 2025 merger list.
    public static let referenceFiles = (
        postalCodes: "reference/postcode_refnis_2025.csv",
        municipalities: "reference/municipalities_flanders_2025.csv",
        mergers: "reference/fusies_2025.csv"
    )

    /// Loads and validates the configuration in `directory`.
    public static func load(directory: String) throws(ConfigurationError) -> HubConfiguration {
        let issues = IssueCollector()
        let root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        func path(_ name: String) -> String { "\(root)/\(name)" }

        guard let reference = loadReference(root: root, issues: issues) else {
            throw ConfigurationError(issues: issues.issues)
        }
        var configuration = HubConfiguration(directory: root, reference: reference)
        let hubFile = path("hub.yaml")
        if let text = readText(hubFile, issues: issues), let node = parseYAML(text, file: hubFile, issues: issues) {
            readHub(node, into: &configuration)
        }
        let sourceDirectory = path("sources")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sourceDirectory)) ?? []
        let sourceFiles = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        if sourceFiles.isEmpty {
            issues.add(ConfigIssue(file: sourceDirectory, line: nil, key: nil, "no source files (*.yaml); every water company needs one"))
        }
        var seen: [String: String] = [:]
        for name in sourceFiles {
            let file = "\(sourceDirectory)/\(name)"
            guard let text = readText(file, issues: issues), let node = parseYAML(text, file: file, issues: issues) else { continue }
            let stem = String(name[..<name.lastIndex(of: ".")!])
            guard let source = readSource(node, defaultID: stem, configDirectory: root) else { continue }
            if let other = seen[source.id] {
                issues.add(ConfigIssue(file: file, line: nil, key: "id", "source id \(source.id.debugDescription) is already used in \(other)"))
                continue
            }
            seen[source.id] = file
            configuration.sources.append(source)
        }
        if !issues.issues.isEmpty { throw ConfigurationError(issues: issues.issues) }
        return configuration
    }

    private static func readText(_ file: String, issues: IssueCollector) -> String? {
        guard let data = FileManager.default.contents(atPath: file) else {
            issues.add(ConfigIssue(file: file, line: nil, key: nil, "cannot read the file (missing, or not readable)"))
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            issues.add(ConfigIssue(file: file, line: nil, key: nil, "the file is not valid UTF-8"))
            return nil
        }
        return text
    }

    private static func loadReference(root: String, issues: IssueCollector) -> ReferenceData? {
        let files = referenceFiles
        guard let postalCodes = readText("\(root)/\(files.postalCodes)", issues: issues),
              let municipalities = readText("\(root)/\(files.municipalities)", issues: issues),
              let mergers = readText("\(root)/\(files.mergers)", issues: issues) else { return nil }
        do {
            return try ReferenceData(postalCodeTable: postalCodes, flemishMunicipalityTable: municipalities, mergerTable: mergers)
        } catch let error as ReferenceDataError {
            issues.add(ConfigIssue(file: "\(root)/reference/\(error.table)", line: error.line, key: nil, error.message))
        } catch {
            issues.add(ConfigIssue(file: "\(root)/reference", line: nil, key: nil, "\(error)"))
        }
        return nil
    }

    // MARK: hub.yaml

    private static func readHub(_ node: LocatedNode, into configuration: inout HubConfiguration) {
        guard var hub = LocatedMapping(node) else { return }
        if let listenNode = hub.optional("listen"), var listen = LocatedMapping(listenNode) {
            if let host = listen.optional("host")?.text { configuration.host = host }
            if let port = listen.optional("port")?.integer(in: 1...65535) { configuration.port = port }
            configuration.tls = readTLS(&listen, configDirectory: configuration.directory)
            listen.reportUnknownKeys()
        }
        if let apiNode = hub.optional("api"), var api = LocatedMapping(apiNode) {
            if let value = api.optional("requests_per_minute")?.integer(in: 1...1_000_000) { configuration.api.requestsPerMinute = value }
            if let value = api.optional("max_body_bytes")?.integer(in: 1024...(16 << 20)) { configuration.api.maxBodyBytes = value }
            api.reportUnknownKeys()
        }
        if let aftercareNode = hub.optional("aftercare"), var aftercare = LocatedMapping(aftercareNode) {
            if let node = aftercare.optional("outreach_states"), let elements = node.texts {
                var states = Set<CaseState>()
                for text in elements {
                    if let state = CaseState(rawValue: text) { states.insert(state) } else {
                        node.issue("\(text.debugDescription) is not a case state; states are \(CaseState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                }
                configuration.aftercare.outreachStates = states
            }
            if let months = aftercare.optional("months_after_reconnection")?.integer(in: 0...120) { configuration.aftercare.monthsAfterReconnection = months }
            if let flag = aftercare.optional("suggest_waterscan")?.flag { configuration.aftercare.suggestWaterscanForProtected = flag }
            aftercare.reportUnknownKeys()
        }
        if let contactsNode = hub.optional("contacts"), var contacts = LocatedMapping(contactsNode) {
            if let node = contacts.optional("roles"), let roles = node.texts {
                let malformed = roles.filter { !ContactRole.isWellFormed($0) }
                if !malformed.isEmpty {
                    node.issue("a role is a code in lower_snake_case (social_worker), never a person's name; not a role: \(malformed.map(\.debugDescription).joined(separator: ", "))")
                } else if roles.isEmpty {
                    node.issue("list at least one role")
                } else {
                    configuration.contactRoles = roles
                }
            }
            contacts.reportUnknownKeys()
        }
        if let dataDirectory = hub.optional("data_dir")?.text { configuration.dataDirectory = dataDirectory }
        if let validationNode = hub.optional("validation"), var validation = LocatedMapping(validationNode) {
            if let node = validation.optional("earliest_date"), let text = node.text {
                if let date = CalendarDate(iso: text) { configuration.rules.earliestDate = date } else { node.issue("expected a date as YYYY-MM-DD, got \(text.debugDescription)") }
            }
            if let days = validation.optional("max_days_ahead")?.integer(in: 0...3650) { configuration.rules.maximumDaysAhead = days }
            if let node = validation.optional("max_quarantined_share"), let text = node.text {
                if let share = Double(text.replacingOccurrences(of: "%", with: "")).map({ text.hasSuffix("%") ? $0 / 100 : $0 }), (0...1).contains(share) {
                    configuration.maximumQuarantinedShare = share
                } else {
                    node.issue("expected a share between 0 and 1 (0.2) or a percentage (20%), got \(text.debugDescription)")
                }
            }
            validation.reportUnknownKeys()
        }
        if let retentionNode = hub.optional("retention"), var retention = LocatedMapping(retentionNode) {
            if let months = retention.optional("closed_case_months")?.integer(in: 1...240) { configuration.closedCaseRetentionMonths = months }
            if let days = retention.optional("raw_archive_days")?.integer(in: 1...36_500) { configuration.rawArchiveRetentionDays = days }
            retention.reportUnknownKeys()
        }
        if let statisticsNode = hub.optional("statistics"), var statistics = LocatedMapping(statisticsNode) {
            if let k = statistics.optional("threshold")?.integer(in: 2...1000) { configuration.statistics.threshold = k }
            if let node = statistics.optional("protection_range"), let range = node.integer(in: 1...10_000) {
                configuration.statistics.protectionRange = range
            }
            statistics.reportUnknownKeys()
        }
        if let tenantsNode = hub.required("tenants"), let elements = tenantsNode.elements {
            var seen = Set<String>()
            for element in elements {
                guard let tenant = readTenant(element, reference: configuration.reference) else { continue }
                if !seen.insert(tenant.nisCode).inserted {
                    element.issue("town \(tenant.nisCode) \(tenant.name) is listed twice")
                    continue
                }
                configuration.tenants.append(tenant)
            }
            if elements.isEmpty { tenantsNode.issue("list at least one town (by NIS code)") }
        }
        hub.reportUnknownKeys()
    }

    private static func readTenant(_ node: LocatedNode, reference: ReferenceData) -> Tenant? {
        guard var mapping = LocatedMapping(node) else { return nil }
        defer { mapping.reportUnknownKeys() }
        guard let nisNode = mapping.required("nis"), let nis = nisNode.text else { return nil }
        let name = mapping.optional("name")
        if let merger = reference.mergersByOldNISCode[nis], merger.newNISCode != nis {
            let newName = reference.municipalities[merger.newNISCode]?.dutchName ?? ""
            nisNode.issue("\(nis) (\(merger.oldName)) merged into \(merger.newNISCode) \(newName) on 1 January 2025; use \(merger.newNISCode)")
            return nil
        }
        guard let municipality = reference.municipalities[nis] else {
            nisNode.issue("\(nis.debugDescription) is not a NIS code of the 2025 municipality table")
            return nil
        }
        guard municipality.isFlemish else {
            nisNode.issue("\(nis) \(municipality.dutchName) is not a Flemish municipality")
            return nil
        }
        if let nameNode = name, let given = nameNode.text,
           given.lowercased() != municipality.dutchName.lowercased(), given.lowercased() != municipality.frenchName.lowercased() {
            nameNode.issue("NIS code \(nis) is \(municipality.dutchName), not \(given.debugDescription); check the code")
            return nil
        }
        return Tenant(nisCode: nis, name: municipality.dutchName)
    }

    /// `listen.tls_certificate` and `listen.tls_key`: both or neither, each a readable file
    /// (relative paths are relative to the configuration directory).
    private static func readTLS(_ listen: inout LocatedMapping, configDirectory: String) -> TLSFiles? {
        let certificateNode = listen.optional("tls_certificate"), keyNode = listen.optional("tls_key")
        func file(_ node: LocatedNode) -> String? {
            guard let text = node.text else { return nil }
            let path = text.hasPrefix("/") ? text : "\(configDirectory)/\(text)"
            guard FileManager.default.isReadableFile(atPath: path) else {
                node.issue("cannot read \(path) (missing, or not readable by the hub's user)")
                return nil
            }
            return path
        }
        switch (certificateNode, keyNode) {
        case (nil, nil):
            return nil
        case (let certificate?, nil):
            certificate.issue("tls_certificate needs tls_key (the private key file) beside it")
            return nil
        case (nil, let key?):
            key.issue("tls_key needs tls_certificate (the certificate chain file) beside it")
            return nil
        case (let certificate?, let key?):
            guard let certificatePath = file(certificate), let keyPath = file(key) else { return nil }
            return TLSFiles(certificate: certificatePath, key: keyPath)
        }
    }

    // MARK: sources/*.yaml

    private static func readSource(_ node: LocatedNode, defaultID: String, configDirectory: String) -> SourceConfiguration? {
        guard var mapping = LocatedMapping(node) else { return nil }
        defer { mapping.reportUnknownKeys() }
        let idNode = mapping.optional("id")
        let id = idNode?.text ?? defaultID
        if !id.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") }) || id.isEmpty {
            (idNode ?? node).issue("a source id is lower-case letters, digits, '-' and '_', got \(id.debugDescription)")
        }
        let name = mapping.required("name")?.text
        let url = mapping.required("url").flatMap { readURL($0, configDirectory: configDirectory) }
        var schedule = Schedule.weekly(weekday: 1, hour: 6, minute: 0)
        if let scheduleNode = mapping.optional("schedule"), let text = scheduleNode.text {
            if let parsed = Schedule(text) { schedule = parsed } else {
                scheduleNode.issue("expected 'weekly monday 06:00', 'daily 06:00' or 'every 30m', got \(text.debugDescription)")
            }
        }
        var fetch = FetchSettings()
        if let fetchNode = mapping.optional("fetch") { readFetch(fetchNode, into: &fetch) }
        var credentials = Credentials()
        if let authNode = mapping.optional("auth") { readAuth(authNode, into: &credentials) }
        let archiveRetention = mapping.optional("archive_retention_days")?.integer(in: 1...36_500)
        let scheme = url.map { $0.lowercased().prefix { $0 != ":" } } ?? ""
        var tls = TLSSettings()
        if let tlsNode = mapping.optional("tls") {
            readTLS(tlsNode, into: &tls)
            if scheme != "https" { tlsNode.issue("tls settings apply to https:// sources only") }
        }
        var sftp = SFTPSettings()
        let sftpNode = mapping.optional("sftp")
        if let sftpNode {
            readSFTP(sftpNode, into: &sftp)
            if scheme != "sftp" { sftpNode.issue("sftp settings apply to sftp:// sources only") }
        }
        if scheme == "sftp", sftp.knownHosts == nil, sftp.hostKeySHA256 == nil {
            (sftpNode ?? mapping.optional("url") ?? node).issue("an sftp source needs sftp.known_hosts or sftp.host_key_sha256: the hub never connects to a server whose host key it cannot check")
        }
        let dialect = mapping.required("dialect").flatMap(DialectReader.read)
        guard let name, let url, let dialect else { return nil }
        var source = SourceConfiguration(id: id, name: name, url: url, dialect: dialect, schedule: schedule, file: node.file)
        source.fetch = fetch
        source.credentials = credentials
        source.archiveRetentionDays = archiveRetention
        source.tls = tls
        source.sftp = sftp
        return source
    }

    /// Accepts `https://`, `http://`, `sftp://`, `file:///absolute` and `file:relative` (to the
    /// config directory); refuses credentials inside the URL.
    private static func readURL(_ node: LocatedNode, configDirectory: String) -> String? {
        guard let text = node.text else { return nil }
        let lower = text.lowercased()
        if lower.hasPrefix("file:") && !lower.hasPrefix("file://") {
            let relative = String(text.dropFirst(5))
            let base = configDirectory.hasPrefix("/") ? configDirectory : FileManager.default.currentDirectoryPath + "/" + configDirectory
            return "file://" + URL(fileURLWithPath: base).appendingPathComponent(relative).standardizedFileURL.path
        }
        guard ["https://", "http://", "sftp://", "file://"].contains(where: lower.hasPrefix) else {
            node.issue("expected an https://, http://, sftp:// or file: URL, got \(text.debugDescription)")
            return nil
        }
        if let authority = text.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first, authority.contains("@"),
           authority.split(separator: "@").first?.contains(":") == true {
            node.issue("the URL carries a password; put it in auth.password (an environment variable or a file) instead")
            return nil
        }
        return text
    }

    private static func readFetch(_ node: LocatedNode, into fetch: inout FetchSettings) {
        guard var mapping = LocatedMapping(node) else { return }
        if let value = mapping.optional("connect_timeout")?.integer(in: 1...600) { fetch.connectTimeoutSeconds = value }
        if let value = mapping.optional("timeout")?.integer(in: 1...86_400) { fetch.totalTimeoutSeconds = value }
        if let value = mapping.optional("low_speed_limit")?.integer(in: 1...1_000_000_000) { fetch.lowSpeedBytesPerSecond = value }
        if let value = mapping.optional("low_speed_time")?.integer(in: 1...3600) { fetch.lowSpeedSeconds = value }
        if let value = mapping.optional("max_bytes")?.integer(in: 1...Int(Int64.max)) { fetch.maxBytes = Int64(value) }
        if let value = mapping.optional("retries")?.integer(in: 0...20) { fetch.retries = value }
        if let value = mapping.optional("expected_every_days")?.integer(in: 1...366) { fetch.expectedEveryDays = value }
        if let value = mapping.optional("grace_days")?.integer(in: 0...366) { fetch.graceDays = value }
        mapping.reportUnknownKeys()
    }

    private static func readAuth(_ node: LocatedNode, into credentials: inout Credentials) {
        guard var mapping = LocatedMapping(node) else { return }
        credentials.username = mapping.optional("username")?.text
        credentials.password = secret(&mapping, "password")
        credentials.bearerToken = secret(&mapping, "bearer_token")
        credentials.privateKeyFile = mapping.optional("private_key_file")?.text
        credentials.privateKeyPassphrase = secret(&mapping, "private_key_passphrase")
        if credentials.password != nil && credentials.username == nil {
            mapping.owner.issue("a password needs a username")
        }
        mapping.reportUnknownKeys()
    }

    private static func readTLS(_ node: LocatedNode, into tls: inout TLSSettings) {
        guard var mapping = LocatedMapping(node) else { return }
        tls.caBundle = mapping.optional("ca_bundle")?.text
        if let pinsNode = mapping.optional("pinned_public_keys"), let pins = pinsNode.texts {
            for pin in pins where !(pin.hasPrefix("sha256//") && pin.count > 20) {
                pinsNode.issue("a pinned key is sha256// followed by the key's base64 SHA-256, got \(pin.debugDescription)")
            }
            tls.pinnedPublicKeys = pins
        }
        tls.clientCertificate = mapping.optional("client_certificate")?.text
        tls.clientKey = mapping.optional("client_key")?.text
        if (tls.clientCertificate == nil) != (tls.clientKey == nil) {
            node.issue("give both client_certificate and client_key, or neither")
        }
        mapping.reportUnknownKeys()
    }

    private static func readSFTP(_ node: LocatedNode, into sftp: inout SFTPSettings) {
        guard var mapping = LocatedMapping(node) else { return }
        sftp.knownHosts = mapping.optional("known_hosts")?.text
        if let fingerprintNode = mapping.optional("host_key_sha256"), let fingerprint = fingerprintNode.text {
            let body = fingerprint.hasPrefix("SHA256:") ? String(fingerprint.dropFirst(7)) : fingerprint
            if body.count < 40 || !body.allSatisfy({ $0.isLetter || $0.isNumber || "+/=".contains($0) }) {
                fingerprintNode.issue("expected a fingerprint like SHA256:AbC… as `ssh-keygen -l -E sha256 -f key.pub` prints it")
            }
            sftp.hostKeySHA256 = fingerprint
        }
        mapping.reportUnknownKeys()
    }

    /// `NAME_env: VAR` or `NAME_file: /path`; a bare `NAME:` is refused so that no secret is ever written in the config.
    private static func secret(_ mapping: inout LocatedMapping, _ name: String) -> SecretReference? {
        if let bare = mapping.optional(name) {
            bare.issue("secrets never stand in the configuration; use \(name)_env (an environment variable) or \(name)_file (a file)")
        }
        if let variable = mapping.optional("\(name)_env")?.text { return SecretReference(.environment(variable)) }
        if let file = mapping.optional("\(name)_file")?.text { return SecretReference(.file(file)) }
        return nil
    }
}
