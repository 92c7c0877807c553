/// Everything one transfer needs: where, with which credentials and validators, within which
/// limits, and into which staging file.
public struct FetchRequest: Sendable {
    /// `https://`, `http://`, `sftp://` or `file://`.
    public var url: String
    /// The file the body is written to while it arrives; the caller moves it when complete.
    public var stagingPath: String
    public var username: String?
    public var password: String?
    public var bearerToken: String?
    /// Validators of the last good fetch, for a conditional request (a 304 costs nothing).
    public var etag: String?
    public var lastModified: String?
    public var connectTimeoutSeconds = 15
    public var totalTimeoutSeconds = 300
    /// A transfer slower than this many bytes per second for `lowSpeedSeconds` is aborted.
    public var lowSpeedBytesPerSecond = 100
    public var lowSpeedSeconds = 30
    /// A body larger than this is refused (and its staging file removed).
    public var maxBytes: Int64 = 512 << 20
    /// HTTPS: pinned public keys (`sha256//BASE64`), any of which may match (several for rotation).
    public var pinnedPublicKeys: [String] = []
    /// HTTPS: a CA bundle other than the system store.
    public var caBundlePath: String?
    /// HTTPS: a client certificate and key (PEM).
    public var clientCertificatePath: String?
    public var clientKeyPath: String?
    /// SFTP: the private key file (public key derived by libssh2).
    public var sshPrivateKeyPath: String?
    /// SFTP: a known_hosts file the server's key must be in.
    public var sshKnownHostsPath: String?
    /// SFTP: the server key's SHA-256 fingerprint (base64, as `ssh-keygen -l` prints after `SHA256:`).
    public var sshHostKeySHA256: String?

    public init(url: String, stagingPath: String) {
        self.url = url
        self.stagingPath = stagingPath
    }

    /// The URL without user information, safe for the ledger and logs.
    public var redactedURL: String {
        let parts = url.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return url }
        let rest = parts[1]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return "\(parts[0])://" + String(rest[rest.index(after: at)...])
    }
}

/// What a completed transfer produced.
public struct FetchResponse: Sendable, Hashable {
    /// The HTTP status (0 for file:// and sftp://).
    public var status: Int
    /// True for HTTP 304: nothing new, nothing written.
    public var notModified: Bool
    public var bytes: Int64
    /// SHA-256 of the body, hex.
    public var sha256: String
    public var etag: String?
    public var lastModified: String?
    public var durationMilliseconds: Int
}

/// Why a transfer failed, with libcurl's own code and text, and whether trying again may help.
public struct FetchError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Timeouts, refused connections, DNS, HTTP 429/5xx, a cut-off body: retry with backoff.
        case temporary
        /// HTTP 401/403/404, TLS or host-key failure, a file over the size limit: report at once.
        case permanent
        /// The hub is shutting down.
        case cancelled
    }

    public var kind: Kind
    /// libcurl's `CURLcode` (0 when the transfer worked but the answer was an HTTP error).
    public var curlCode: Int
    public var httpStatus: Int?
    /// What happened, in plain words, with curl's own message where it helps.
    public var message: String

    public var description: String {
        var text = message
        if curlCode != 0 { text += " (curl error \(curlCode))" }
        return text
    }
}
