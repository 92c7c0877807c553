import Foundation

/// Everything one transfer needs: where, with which credentials and validators, within which
/// limits, and into which staging file.
public struct FetchRequest: Sendable {
    /// `https://`, `http://`, `sftp://` or `file://`.
    public var url: String
    /// The file the body is written to while it arrives; the caller moves it when complete.
    public var stagingPath: String
    /// The user name for HTTP basic auth or SFTP.
    public var username: String?
    /// The password for HTTP basic auth or SFTP (never put into an error message).
    public var password: String?
    /// An OAuth 2 bearer token for HTTPS (never put into an error message).
    public var bearerToken: String?
    /// The passphrase of `clientKeyPath` or `sshPrivateKeyPath`, if the key is encrypted.
    public var privateKeyPassphrase: String?
    /// The ETag of the last good fetch, sent as `If-None-Match` (a 304 costs nothing).
    public var etag: String?
    /// The Last-Modified of the last good fetch, sent as `If-Modified-Since`.
    public var lastModified: String?
    /// Seconds allowed to establish the connection (TCP, TLS or SSH handshake).
    public var connectTimeoutSeconds = 15
    /// Seconds allowed for the whole transfer.
    public var totalTimeoutSeconds = 300
    /// A transfer slower than this many bytes per second for `lowSpeedSeconds` is aborted as stalled.
    public var lowSpeedBytesPerSecond = 100
    /// How long a transfer may stay below `lowSpeedBytesPerSecond` before it is aborted.
    public var lowSpeedSeconds = 30
    /// A body larger than this is refused (and its staging file removed).
    public var maxBytes: Int64 = 512 << 20
    /// HTTPS: pinned public keys (`sha256//BASE64`), any of which may match (several for rotation).
    public var pinnedPublicKeys: [String] = []
    /// HTTPS: a CA bundle used instead of the system store.
    public var caBundlePath: String?
    /// HTTPS: a client certificate (PEM).
    public var clientCertificatePath: String?
    /// HTTPS: the client certificate's private key (PEM).
    public var clientKeyPath: String?
    /// SFTP: the private key file (public key derived by libssh2).
    public var sshPrivateKeyPath: String?
    /// SFTP: a known_hosts file the server's key must be in (`[host]:port` entries for other ports than 22).
    public var sshKnownHostsPath: String?
    /// SFTP: the server key's SHA-256 fingerprint, as `ssh-keygen -l -E sha256` prints it (`SHA256:` optional).
    public var sshHostKeySHA256: String?

    /// A request for `url` whose body goes to `stagingPath`, with the default limits.
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

    /// The URL's scheme, lowercased (`https`, `sftp`, `file`…), or the empty string.
    var scheme: String {
        guard let separator = url.range(of: "://") else { return "" }
        return url[..<separator.lowerBound].lowercased()
    }

    /// `text` with every secret of this request (password, token, passphrase, URL user
    /// information) replaced by `***`, so that no error message can carry one.
    func redactingSecrets(in text: String) -> String {
        var secrets = [password, bearerToken, privateKeyPassphrase].compactMap { $0 }
        if let separator = url.range(of: "://") {
            let rest = url[separator.upperBound...]
            let authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
            if let at = authority.lastIndex(of: "@") {
                let userInfo = authority[..<at]
                secrets.append(String(userInfo))
                if let colon = userInfo.firstIndex(of: ":") {
                    let encoded = String(userInfo[userInfo.index(after: colon)...])
                    secrets.append(encoded)
                    if let decoded = encoded.removingPercentEncoding { secrets.append(decoded) }
                }
            }
        }
        var redacted = text
        // Longest first, so that a secret containing another is not left half visible.
        for secret in Set(secrets.filter { !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            redacted = redacted.replacingOccurrences(of: secret, with: "***")
        }
        return redacted
    }
}

/// What a completed transfer produced.
public struct FetchResponse: Sendable, Hashable {
    /// The HTTP status (0 for file:// and sftp://).
    public var status: Int
    /// True for HTTP 304: nothing new, nothing written (the staging file is removed).
    public var notModified: Bool
    /// The size of the body in the staging file.
    public var bytes: Int64
    /// SHA-256 of the body, hex.
    public var sha256: String
    /// The ETag the server sent (or, for a 304, the one the request carried).
    public var etag: String?
    /// The Last-Modified the server sent (or, for a 304, the one the request carried).
    public var lastModified: String?
    /// Wall-clock time of the transfer.
    public var durationMilliseconds: Int

    /// A response as the fetcher builds it; public so that tests of callers can fake one.
    public init(status: Int, notModified: Bool, bytes: Int64, sha256: String, etag: String?, lastModified: String?,
                durationMilliseconds: Int) {
        self.status = status
        self.notModified = notModified
        self.bytes = bytes
        self.sha256 = sha256
        self.etag = etag
        self.lastModified = lastModified
        self.durationMilliseconds = durationMilliseconds
    }
}

/// Why a transfer failed, with libcurl's own code and text, and whether trying again may help.
///
/// Like GRDB's `DatabaseError`, which keeps SQLite's result code beside its message, it keeps
/// curl's `CURLcode`; the message never contains a password, token or URL user information.
public struct FetchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Whether trying again may help.
    public enum Kind: String, Sendable, Hashable {
        /// Timeouts, stalls, refused connections, DNS, HTTP 429/5xx, a cut-off body: retry with backoff.
        case temporary
        /// HTTP 401/403/404, TLS or host-key failure, a file over the size limit: report at once.
        case permanent
        /// The calling task was cancelled (the hub is shutting down).
        case cancelled
    }

    /// Whether trying again may help.
    public var kind: Kind
    /// libcurl's `CURLcode` (0 when curl was not asked, or the answer was an HTTP error).
    public var curlCode: Int
    /// The HTTP status, when the server answered with an error status.
    public var httpStatus: Int?
    /// What happened, in plain words, with curl's own message where it helps.
    public var message: String

    /// An error of `kind` with curl's code (0 if none), the HTTP status if any, and a message.
    public init(kind: Kind, curlCode: Int, httpStatus: Int? = nil, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.httpStatus = httpStatus
        self.message = message
    }

    /// The message, followed by curl's error code when there is one.
    public var description: String {
        var text = message
        if curlCode != 0 { text += " (curl error \(curlCode))" }
        return text
    }
}
