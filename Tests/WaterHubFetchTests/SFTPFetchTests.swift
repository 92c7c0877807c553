import Foundation
import Testing
import WaterHubFetch
import WaterHubTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Generates a key pair (ed25519 unless told) at `path` (and `path.pub`) and returns the public key line.
@discardableResult
func generateSSHKey(at path: String, type: String = "ed25519") async throws -> String {
    try await runCommand("/usr/bin/ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "waterhub-test", "-f", path])
    return contents(of: path + ".pub").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The SHA-256 fingerprint `ssh-keygen -l -E sha256` prints for a public key file (`SHA256:…`).
func sshKeygenFingerprint(of publicKeyPath: String) async throws -> String {
    let line = try await runCommand("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", publicKeyPath])
    let fields = line.split(separator: " ")
    guard fields.count >= 2, fields[1].hasPrefix("SHA256:") else { throw CommandFailed(description: "unexpected ssh-keygen output: \(line)") }
    return String(fields[1])
}

/// A real OpenSSH server on a free loopback port, with its own host key, config and one
/// authorised client key, started by the test and killed by its PID.
final class SFTPTestServer: Sendable {
    static let sshd = "/usr/sbin/sshd"

    let directory: TemporaryDirectory
    let port: Int
    /// The user sshd runs as, the only one it can authenticate.
    let user: String
    let clientKeyPath: String
    let hostPublicKeyPath: String
    /// The host key's fingerprint as `ssh-keygen -l -E sha256` prints it.
    let hostFingerprint: String
    /// The absolute path of `sampleFeed` on the server.
    let feedPath: String
    private let process: BackgroundProcess

    init() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.sshd) else {
            throw CommandFailed(description: "\(Self.sshd) is missing: apt-get install -y openssh-server")
        }
        directory = TemporaryDirectory("sftp")
        let path = directory.path
        try await generateSSHKey(at: "\(path)/hostkey")
        clientKeyPath = "\(path)/client"
        let clientPublicKey = try await generateSSHKey(at: clientKeyPath)
        directory.write("authorized_keys", clientPublicKey + "\n")
        hostPublicKeyPath = "\(path)/hostkey.pub"
        hostFingerprint = try await sshKeygenFingerprint(of: hostPublicKeyPath)
        feedPath = directory.write("feed.csv", sampleFeed)
        user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "root"
        if getuid() == 0 {
            // sshd running as root insists on its privilege-separation directory.
            try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
        }
        // The port was free a moment ago; should another process take it first, sshd exits and we try another.
        var started: (port: Int, process: BackgroundProcess)?
        var lastErrors = ""
        for attempt in 0..<3 where started == nil {
            let port = try freeLoopbackPort()
            let config = directory.write("sshd_config-\(attempt)", """
                ListenAddress 127.0.0.1
                Port \(port)
                HostKey \(path)/hostkey
                AuthorizedKeysFile \(path)/authorized_keys
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                StrictModes no
                UsePAM no
                PidFile \(path)/sshd.pid
                Subsystem sftp internal-sftp
                PermitRootLogin prohibit-password

                """)
            let process = try BackgroundProcess(Self.sshd, ["-D", "-e", "-f", config], logDirectory: path, name: "sshd-\(attempt)")
            if await waitUntilAccepting(port: port), process.isRunning {
                started = (port, process)
            } else {
                lastErrors = process.errors
                process.stop()
            }
        }
        guard let started else { throw CommandFailed(description: "sshd did not start: \(lastErrors)") }
        port = started.port
        process = started.process
    }

    /// `sftp://127.0.0.1:PORT/absolute/path`.
    func url(_ absolutePath: String) -> String { "sftp://127.0.0.1:\(port)\(absolutePath)" }

    /// A request for the feed with the client key and no host-key check yet.
    func request(stagingPath: String) -> FetchRequest {
        var request = FetchRequest(url: url(feedPath), stagingPath: stagingPath)
        request.username = user
        request.sshPrivateKeyPath = clientKeyPath
        return request
    }

    /// A known_hosts line for this server's address and port with `publicKeyLine`.
    func knownHostsLine(_ publicKeyLine: String) -> String { "[127.0.0.1]:\(port) \(publicKeyLine)\n" }

    /// Kills sshd by its PID.
    func stop() { process.stop() }
}

/// SFTP through libcurl against a real sshd: the mandatory host-key check and key authentication.
@Suite struct SFTPFetchTests {
    let fetcher = CurlFetcher()

    @Test func fetchWithPrivateKeyAndCorrectFingerprintSucceeds() async throws {
        let server = try await SFTPTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = server.request(stagingPath: directory.stagingPath)
        request.sshHostKeySHA256 = server.hostFingerprint

        let response = try await fetcher.fetch(request)

        #expect(response.bytes == Int64(sampleFeed.utf8.count))
        #expect(response.sha256 == sampleFeedSHA256)
        #expect(contents(of: directory.stagingPath) == sampleFeed)
    }

    @Test func fetchWithKnownHostsFileSucceeds() async throws {
        let server = try await SFTPTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        let knownHosts = directory.write("known_hosts", server.knownHostsLine(contents(of: server.hostPublicKeyPath)))
        var request = server.request(stagingPath: directory.stagingPath)
        request.sshKnownHostsPath = knownHosts

        let response = try await fetcher.fetch(request)

        #expect(response.sha256 == sampleFeedSHA256)
    }

    @Test func fingerprintMismatchIsRefusedShowingTheServersFingerprint() async throws {
        let server = try await SFTPTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        try await generateSSHKey(at: "\(directory.path)/other")
        let otherFingerprint = try await sshKeygenFingerprint(of: "\(directory.path)/other.pub")
        var request = server.request(stagingPath: directory.stagingPath)
        request.sshHostKeySHA256 = otherFingerprint

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == 60)
        #expect(error?.message.contains("\(server.hostFingerprint) (ED25519) does not match the configured fingerprint \(otherFingerprint)") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func hostKeyDifferentFromKnownHostsIsRefusedShowingTheServersFingerprint() async throws {
        let server = try await SFTPTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        let otherKey = try await generateSSHKey(at: "\(directory.path)/other")
        let knownHosts = directory.write("known_hosts", server.knownHostsLine(otherKey))
        var request = server.request(stagingPath: directory.stagingPath)
        request.sshKnownHostsPath = knownHosts

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.message.contains("\(server.hostFingerprint) (ED25519) differs from the key the known_hosts file has") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func clientKeyTheServerDoesNotKnowIsRefusedAsCredentials() async throws {
        let server = try await SFTPTestServer()
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = server.request(stagingPath: directory.stagingPath)
        request.sshPrivateKeyPath = "\(directory.path)/stranger"
        try await generateSSHKey(at: "\(directory.path)/stranger")
        request.sshHostKeySHA256 = server.hostFingerprint

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == 67)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func noHostKeyCheckIsRefusedBeforeConnecting() async throws {
        // Any listener will do: the point is that nothing connects to it.
        let listener = try ScriptedHTTPServer { _, _ in .respond(status: 500) }
        defer { listener.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: "sftp://aquaflan:hunter2-secret@127.0.0.1:\(listener.port)/feeds/week.csv",
                                   stagingPath: directory.stagingPath)
        request.password = "hunter2-secret"

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == 0)
        #expect(error?.message.contains("host-key check") == true)
        #expect(error?.message.contains("sftp://127.0.0.1:\(listener.port)/feeds/week.csv") == true)
        #expect(error?.description.contains("hunter2") == false)
        #expect(listener.connectionCount == 0)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test(arguments: ["ed25519", "ecdsa"])
    func fingerprintIsTheOneSshKeygenPrints(keyType: String) async throws {
        let directory = TemporaryDirectory("keys")
        let publicKey = try await generateSSHKey(at: "\(directory.path)/key", type: keyType)

        let expected = try await sshKeygenFingerprint(of: "\(directory.path)/key.pub")
        #expect(SSHFingerprint.sha256(ofPublicKeyLine: publicKey) == expected)
    }
}
