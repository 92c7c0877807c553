import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import WaterHubApp
import WaterHubConfig
import WaterHubStorage
import WaterHubTestSupport

/// The hub serves HTTPS itself when `listen.tls_certificate` and `listen.tls_key` are set.
@Suite struct TLSTests {
    /// A self-signed certificate for localhost, made with the openssl command.
    static func selfSignedCertificate(in directory: TemporaryDirectory) throws -> TLSFiles {
        let files = TLSFiles(certificate: "\(directory.path)/cert.pem", key: "\(directory.path)/key.pem")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", files.key, "-out", files.certificate, "-days", "2", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw CommandFailure("openssl could not make a test certificate (is openssl installed?)") }
        return files
    }

    @Test func theHubServesHTTPSWithTheConfiguredCertificate() async throws {
        let directory = TemporaryDirectory("tls")
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        configuration.tls = try Self.selfSignedCertificate(in: directory)
        let hub = try Hub(configuration: configuration, dataDirectory: "\(directory.path)/data", logger: quietLogger)
        let (token, _) = try hub.ledger.issueToken(tenant: "11002", scope: .read)
        let app = try buildApplication(hub: hub, host: "127.0.0.1", port: 0)
        try await app.test(.ahc(.https)) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            let events = try await client.execute(uri: "/v1/tenants/11002/events", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(events.status == .ok)
        }
    }

    @Test func aKeyThatIsNotPEMIsNamed() throws {
        let directory = TemporaryDirectory("tls-bad")
        var configuration = try ConfigurationLoader.load(directory: Repository.config)
        var files = try Self.selfSignedCertificate(in: directory)
        files.key = directory.write("not-a-key.pem", "hello")
        configuration.tls = files
        let hub = try Hub(configuration: configuration, dataDirectory: "\(directory.path)/data", logger: quietLogger)
        #expect {
            _ = try buildApplication(hub: hub)
        } throws: { error in
            "\(error)".hasPrefix("listen.tls_key:")
        }
    }
}
