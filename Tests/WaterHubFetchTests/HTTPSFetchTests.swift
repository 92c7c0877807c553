import Foundation
import Testing
import WaterHubFetch
import WaterHubTestSupport

/// `openssl s_server -WWW` on a loopback port with a throw-away self-signed certificate for
/// 127.0.0.1, serving `sampleFeed` as `/feed.csv`; stopped by its PID.
final class TLSTestServer: Sendable {
    static let openssl = "/usr/bin/openssl"

    let directory: TemporaryDirectory
    /// The certificate, usable as a CA bundle (it is self-signed).
    let certificatePath: String
    /// The certificate's public key pin, `sha256//BASE64` of its SubjectPublicKeyInfo.
    let pin: String
    let port: Int
    private let process: BackgroundProcess

    init() async throws {
        directory = TemporaryDirectory("tls")
        let path = directory.path
        certificatePath = "\(path)/cert.pem"
        let keyPath = "\(path)/key.pem"
        try await runCommand(Self.openssl, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                      "-keyout", keyPath, "-out", certificatePath, "-days", "1", "-subj", "/CN=127.0.0.1",
                                      "-addext", "subjectAltName=IP:127.0.0.1"])
        try await runCommand(Self.openssl, ["pkey", "-in", keyPath, "-pubout", "-outform", "DER", "-out", "\(path)/key.der"])
        try await runCommand(Self.openssl, ["dgst", "-sha256", "-binary", "-out", "\(path)/key.sha256", "\(path)/key.der"])
        pin = "sha256//" + (try Data(contentsOf: URL(fileURLWithPath: "\(path)/key.sha256"))).base64EncodedString()
        directory.write("www/feed.csv", sampleFeed)
        // Port 0: the kernel picks a free port and s_server prints it as "ACCEPT 127.0.0.1:PORT".
        process = try BackgroundProcess(Self.openssl, ["s_server", "-WWW", "-accept", "127.0.0.1:0", "-cert", certificatePath,
                                                       "-key", keyPath], in: "\(path)/www", logDirectory: path, name: "s_server")
        var found: Int?
        for _ in 0..<500 where found == nil && process.isRunning {
            found = process.output.split(separator: "\n").lazy.compactMap { line -> Int? in
                guard line.hasPrefix("ACCEPT 127.0.0.1:") else { return nil }
                return Int(line.dropFirst("ACCEPT 127.0.0.1:".count))
            }.first
            if found == nil { try? await Task.sleep(for: .milliseconds(10)) }
        }
        guard let found else {
            process.stop()
            throw CommandFailed(description: "openssl s_server did not start: \(process.errors)")
        }
        port = found
    }

    /// `https://127.0.0.1:PORT/feed.csv`.
    var url: String { "https://127.0.0.1:\(port)/feed.csv" }

    /// Kills `openssl s_server` by its PID.
    func stop() { process.stop() }
}

/// HTTPS through libcurl against a real TLS server: trust through a CA bundle, key pinning.
@Suite struct HTTPSFetchTests {
    let fetcher = CurlFetcher()
    /// A syntactically valid pin that matches no key.
    let wrongPin = "sha256//" + Data(repeating: 0, count: 32).base64EncodedString()

    @Test func certificateTrustedThroughTheCABundleIsFetched() async throws {
        let server = try await TLSTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url, stagingPath: directory.stagingPath)
        request.caBundlePath = server.certificatePath

        let response = try await fetcher.fetch(request)

        #expect(response.status == 200)
        #expect(response.sha256 == sampleFeedSHA256)
        #expect(contents(of: directory.stagingPath) == sampleFeed)
    }

    @Test func matchingPinAmongSeveralIsAccepted() async throws {
        let server = try await TLSTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url, stagingPath: directory.stagingPath)
        request.caBundlePath = server.certificatePath
        // The next key first, the current one second, as during a rotation.
        request.pinnedPublicKeys = [wrongPin, server.pin]

        let response = try await fetcher.fetch(request)

        #expect(response.sha256 == sampleFeedSHA256)
    }

    @Test func wrongPinIsAPermanentTLSFailure() async throws {
        let server = try await TLSTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url, stagingPath: directory.stagingPath)
        request.caBundlePath = server.certificatePath
        request.pinnedPublicKeys = [wrongPin]

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == 90)
        #expect(error?.message.contains("pinned") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func untrustedCertificateWithoutCABundleIsAPermanentFailure() async throws {
        let server = try await TLSTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")

        let error = await #expect(throws: FetchError.self) {
            try await fetcher.fetch(FetchRequest(url: server.url, stagingPath: directory.stagingPath))
        }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == 60)
        #expect(error?.message.contains("TLS") == true)
        #expect(!fileExists(directory.stagingPath))
    }
}
