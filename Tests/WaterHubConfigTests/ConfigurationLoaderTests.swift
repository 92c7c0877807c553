import Foundation
import Testing
import WaterHubConfig
import WaterHubCore
import WaterHubDialects
import WaterHubTestSupport

@Suite struct ConfigurationLoaderTests {
    @Test func theDemoConfigurationLoads() throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        #expect(configuration.tenants.count == 7)
        #expect(Set(configuration.sources.map(\.id)) == ["aquaflan", "kempenwater", "polderwater", "scheldewater"])
        #expect(configuration.maximumQuarantinedShare == 0.2)
        let aquaflan = try #require(configuration.sources.first { $0.id == "aquaflan" })
        #expect(aquaflan.dialect.encoding == .windows1252)
        #expect(aquaflan.url.hasPrefix("file:///"))
        #expect(aquaflan.url.hasSuffix("/Ops/demo-feeds/aquaflan-2026-W47.csv"))
    }

    /// A copy of the demo configuration with one file replaced.
    func configuration(replacing file: String, with text: String) -> (TemporaryDirectory, String) {
        let directory = TemporaryDirectory("config")
        let target = "\(directory.path)/Config"
        try! FileManager.default.copyItem(atPath: Repository.config, toPath: target)
        try! FileManager.default.removeItem(atPath: "\(target)/\(file)")
        _ = FileManager.default.createFile(atPath: "\(target)/\(file)", contents: Data(text.utf8))
        return (directory, target)
    }

    func issues(replacing file: String, with text: String) -> [ConfigIssue] {
        let (directory, path) = configuration(replacing: file, with: text)
        defer { _ = directory }
        do {
            _ = try ConfigurationLoader.load(directory: path)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func aMisspeltKeyIsReportedWithItsLineAndAHint() {
        let found = issues(replacing: "hub.yaml", with: """
            listen:
              host: 127.0.0.1
              prot: 8080
            tenants:
              - nis: "11002"
            """)
        let issue = found.first { $0.key == "listen.prot" }
        #expect(issue?.line == 3)
        #expect(issue?.file.hasSuffix("Config/hub.yaml") == true)
        #expect(issue?.message.contains("did you mean \"port\"") == true)
    }

    @Test func theAPIAndFollowUpKeysAreReadAndChecked() throws {
        let hub = """
            listen:
              port: 8080
              tls_certificate: missing-cert.pem
            api:
              requests_per_minute: 0
              max_body_bytes: 2048
            aftercare:
              outreach_states: [disconnected, gone]
              months_after_reconnection: 3
              suggest_waterscan: maybe
            contacts:
              roles: [social_worker, Voornaam Achternaam]
            tenants:
              - nis: "11002"
            """
        let found = issues(replacing: "hub.yaml", with: hub)
        func issue(_ key: String) -> ConfigIssue? { found.first { $0.key == key } }
        #expect(issue("listen.tls_certificate")?.message.contains("tls_key") == true)
        #expect(issue("listen.tls_certificate")?.line == 3)
        #expect(issue("api.requests_per_minute")?.line == 5)
        #expect(issue("aftercare.outreach_states")?.message.contains("\"gone\" is not a case state") == true)
        #expect(issue("aftercare.suggest_waterscan")?.line == 10)
        #expect(issue("contacts.roles")?.message.contains("\"Voornaam Achternaam\"") == true)
        #expect(found.count == 5)

        let (directory, path) = configuration(replacing: "hub.yaml", with: """
            api: {requests_per_minute: 60, max_body_bytes: 2048}
            aftercare: {outreach_states: [disconnected, limited], months_after_reconnection: 3, suggest_waterscan: false}
            contacts: {roles: [social_worker, budget_coach]}
            tenants:
              - nis: "11002"
            """)
        defer { _ = directory }
        let configuration = try ConfigurationLoader.load(directory: path)
        #expect(configuration.api.requestsPerMinute == 60 && configuration.api.maxBodyBytes == 2048)
        #expect(configuration.aftercare.outreachStates == [.disconnected, .limited])
        #expect(configuration.aftercare.monthsAfterReconnection == 3 && !configuration.aftercare.suggestWaterscanForProtected)
        #expect(configuration.contactRoles == ["social_worker", "budget_coach"])
        #expect(configuration.tls == nil)
    }

    @Test func theDemoConfigurationHasTheDocumentedDefaults() throws {
        let configuration = try ConfigurationLoader.load(directory: Repository.config)
        #expect(configuration.api == APILimits())
        #expect(configuration.aftercare == AftercareRules())
        #expect(configuration.contactRoles == ContactRole.defaults)
    }

    @Test func aMergedTownsOldCodeAsTenantSaysWhichCodeToUse() {
        let found = issues(replacing: "hub.yaml", with: """
            tenants:
              - nis: "11002"
              - nis: "46003"
            """)
        let issue = found.first { $0.key == "tenants[2].nis" }
        #expect(issue?.line == 3)
        #expect(issue?.message.contains("use 46030") == true)
    }

    @Test func dialectMistakesPointAtTheirKeys() throws {
        var source = try String(contentsOfFile: "\(Repository.config)/sources/aquaflan.yaml", encoding: .utf8)
        source = source.replacingOccurrences(of: #"delimiter: ";""#, with: #"delimiter: ":""#)
        source = source.replacingOccurrences(of: "    HERAANSL: reconnection", with: "    HERAANSL: reconection")
        source = source.replacingOccurrences(of: "    postal_code: Postcode", with: "    postcode: Postcode")
        let found = issues(replacing: "sources/aquaflan.yaml", with: source)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        func line(containing text: String) -> Int? { lines.firstIndex { $0.contains(text) }.map { $0 + 1 } }
        #expect(found.contains { $0.key == "dialect.delimiter" && $0.line == line(containing: #"delimiter: ":""#) })
        #expect(found.contains { $0.key == "dialect.event_types.HERAANSL" && $0.message.contains("not an event type") })
        #expect(found.contains { $0.key == "dialect.columns.postcode" && $0.message.contains("did you mean \"postal_code\"") })
        #expect(found.allSatisfy { $0.file.hasSuffix("sources/aquaflan.yaml") })
    }

    @Test func aSecretWrittenIntoTheConfigIsRefused() throws {
        var source = try String(contentsOfFile: "\(Repository.config)/sources/scheldewater.yaml", encoding: .utf8)
        source += "auth:\n  username: hub\n  password: hunter2\n"
        let found = issues(replacing: "sources/scheldewater.yaml", with: source)
        let issue = found.first { $0.key == "auth.password" }
        #expect(issue?.message.contains("password_env") == true)
        #expect(issue.map { !$0.description.contains("hunter2") } == true)
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() {
        let found = issues(replacing: "hub.yaml", with: "tenants:\n  - nis: \"11002\n  - nis: 44021\n")
        #expect(found.count == 1)
        #expect(found.first?.line != nil)
    }
}

/// Each shipped dialect decodes its committed demo feed: the golden figures of each file.
@Suite struct DemoFeedGoldenTests {
    let configuration = try! ConfigurationLoader.load(directory: Repository.config)

    func rows(of sourceID: String) throws -> [DecodedRow] {
        let source = try #require(configuration.sources.first { $0.id == sourceID })
        let path = String(source.url.dropFirst("file://".count))
        let bytes = try #require(FileManager.default.contents(atPath: path))
        var decoder = try FeedDecoder(source: InMemoryByteSource(Array(bytes), chunkSize: 4096), sourceID: sourceID,
                                      dialect: source.dialect, rules: configuration.rules, today: .day("2026-11-22"))
        var rows: [DecodedRow] = []
        while let row = try decoder.next() { rows.append(row) }
        return rows
    }

    @Test(arguments: [("aquaflan", 66, 1), ("scheldewater", 48, 0), ("kempenwater", 37, 0), ("polderwater", 31, 0)])
    func eachDemoFeedDecodes(source: String, count: Int, failures: Int) throws {
        let decoded = try rows(of: source)
        #expect(decoded.count == count)
        #expect(decoded.filter { if case .failure = $0.result { true } else { false } }.count == failures)
        #expect(Set(decoded.map(\.line)).count == count)
    }

    @Test func aquaflanReadsWindows1252AndBelgianAmounts() throws {
        let first = try #require(try rows(of: "aquaflan").first?.result.get())
        #expect(first.name == "Hélène Janssens")
        #expect(first.amountDueCents == 26_241)
        #expect(first.type == .lacRequest)
        #expect(first.eventDate == .day("2026-09-25"))
    }

    @Test func scheldewaterSkipsItsByteOrderMark() throws {
        let events = try rows(of: "scheldewater").compactMap { try? $0.result.get() }
        #expect(events.first?.sourceEventID == "SW000001")
        #expect(events.contains { $0.name?.contains("Ayşe") == true })
    }

    @Test func kempenwaterReadsNestedJSONAndBooleans() throws {
        let events = try rows(of: "kempenwater").compactMap { try? $0.result.get() }
        #expect(events.count == 37)
        #expect(events.contains { $0.protectedCustomer == .yes })
        #expect(events.allSatisfy { $0.postalCode?.count == 4 })
    }

    @Test func polderwaterStillCarriesPre2025Codes() throws {
        let events = try rows(of: "polderwater").compactMap { try? $0.result.get() }
        let merged = Set(configuration.reference.mergersByOldNISCode.keys)
        #expect(events.contains { $0.nisCode.map(merged.contains) == true })
        #expect(events.contains { $0.nisCode == nil && $0.postalCode != nil })
    }
}
