import CCurl
import Crypto
import Foundation
import Logging
import Synchronization

/// Fetches one URL with libcurl into a staging file, hashing the body as it arrives.
///
/// `curl_easy_perform` blocks, so each transfer runs on a thread of its own, never on Swift's
/// cooperative pool; cancelling the calling task aborts the transfer at its next progress tick.
public struct CurlFetcher: Sendable {
    /// Where `fetch(_:retrying:sleep:)` reports failed attempts (redacted URL, attempt, curl code).
    public var logger: Logger

    /// A fetcher; retries are logged to `logger`, which by default discards everything.
    public init(logger: Logger = Logger(label: "waterhub.fetch", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.logger = logger
    }

    /// Loads libcurl at the first transfer (see CCurl's shim.h): nil when ready, else why it
    /// cannot be loaded (tried once per process).
    static func loadLibcurl() -> String? {
        waterhub_curl_load().map {
            "libcurl cannot be loaded (\(String(cString: $0))); install the libcurl4 package and restart WaterHub"
        }
    }

    /// Performs the transfer once. On success the body is in `request.stagingPath`; after a
    /// failure or a 304 no staging file is left.
    public func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse {
        if var refusal = CurlFetcher.refusalBeforeConnecting(request) {
            refusal.message = request.redactingSecrets(in: refusal.message)
            throw refusal
        }
        if Task.isCancelled {
            throw FetchError(kind: .cancelled, curlCode: 0, message: "the transfer was cancelled before it started")
        }
        let cancelled = CancellationFlag()
        let result: Result<FetchResponse, FetchError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let thread = Thread {
                    continuation.resume(returning: CurlFetcher.perform(request, cancelled: cancelled))
                }
                thread.name = "waterhub-curl"
                thread.start()
            }
        } onCancel: {
            cancelled.set()
        }
        switch result {
        case .success(let response) where !response.notModified:
            return response
        case .success(let response):
            try? FileManager.default.removeItem(atPath: request.stagingPath)
            return response
        case .failure(var error):
            try? FileManager.default.removeItem(atPath: request.stagingPath)
            error.message = request.redactingSecrets(in: error.message)
            throw error
        }
    }

    /// Problems that must stop a transfer before any connection is made.
    static func refusalBeforeConnecting(_ request: FetchRequest) -> FetchError? {
        guard request.scheme == "sftp" else { return nil }
        let fingerprint = request.sshHostKeySHA256.map(SSHFingerprint.normalized) ?? ""
        if request.sshKnownHostsPath == nil && fingerprint.isEmpty {
            return FetchError(kind: .permanent, curlCode: 0, message: "refused to connect to \(request.redactedURL): an SFTP source needs a "
                + "host-key check, either a known_hosts file or the server's SHA-256 host key fingerprint (ssh-keygen -l -E sha256)")
        }
        if let knownHosts = request.sshKnownHostsPath, !FileManager.default.isReadableFile(atPath: knownHosts) {
            return FetchError(kind: .permanent, curlCode: 0, message: "refused to connect to \(request.redactedURL): "
                + "the known_hosts file \(knownHosts) cannot be read")
        }
        return nil
    }

    private static func perform(_ request: FetchRequest, cancelled: CancellationFlag) -> Result<FetchResponse, FetchError> {
        let started = ContinuousClock.now
        if let problem = loadLibcurl() {
            return .failure(FetchError(kind: .permanent, curlCode: Int(CURLE_FAILED_INIT.rawValue), message: problem))
        }
        guard let handle = waterhub_easy_init() else {
            return .failure(FetchError(kind: .temporary, curlCode: Int(CURLE_FAILED_INIT.rawValue), message: "libcurl could not start a transfer"))
        }
        defer { waterhub_easy_cleanup(handle) }
        guard FileManager.default.createFile(atPath: request.stagingPath, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: request.stagingPath) else {
            return .failure(FetchError(kind: .permanent, curlCode: 0, message: "cannot create the staging file \(request.stagingPath)"))
        }
        let scheme = request.scheme
        let fingerprint = request.sshHostKeySHA256.flatMap { SSHFingerprint.normalized($0).isEmpty ? nil : $0 }
        let transfer = Transfer(file: file, maxBytes: request.maxBytes, cancelled: cancelled,
                                hostKey: HostKeyCheck(expectedFingerprint: fingerprint))
        let context = Unmanaged.passRetained(transfer)
        defer { context.release() }
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { waterhub_slist_free_all(headers) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup = CURLE_OK
            func set(_ option: CURLoption, _ value: Int) { if setup == CURLE_OK { setup = waterhub_easy_setopt_long(handle, option, value) } }
            func set(_ option: CURLoption, _ value: String?) {
                guard let value, setup == CURLE_OK else { return }
                setup = waterhub_easy_setopt_string(handle, option, value)
            }
            func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer) {
                if setup == CURLE_OK { setup = waterhub_easy_setopt_pointer(handle, option, pointer) }
            }
            set(CURLOPT_URL, request.url)
            set(CURLOPT_PROTOCOLS_STR, "https,http,sftp,file")
            // A redirect may never downgrade an https source to plain http.
            set(CURLOPT_REDIR_PROTOCOLS_STR, scheme == "https" ? "https" : "https,http")
            set(CURLOPT_FOLLOWLOCATION, 1)
            set(CURLOPT_MAXREDIRS, 5)
            set(CURLOPT_NOSIGNAL, 1)
            // Chunks of up to 512 KiB (curl's largest) instead of 16 KiB: a feed of hundreds of
            // megabytes reaches the staging file in a few hundred writes, not tens of thousands.
            set(CURLOPT_BUFFERSIZE, 512 * 1024)
            set(CURLOPT_CONNECTTIMEOUT, request.connectTimeoutSeconds)
            set(CURLOPT_TIMEOUT, request.totalTimeoutSeconds)
            set(CURLOPT_LOW_SPEED_LIMIT, request.lowSpeedBytesPerSecond)
            set(CURLOPT_LOW_SPEED_TIME, request.lowSpeedSeconds)
            if setup == CURLE_OK { setup = waterhub_easy_setopt_off_t(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxBytes)) }
            set(CURLOPT_USERAGENT, "WaterHub/1 (libcurl)")
            set(CURLOPT_ACCEPT_ENCODING, "")
            set(CURLOPT_USERNAME, request.username)
            set(CURLOPT_PASSWORD, request.password)
            set(CURLOPT_KEYPASSWD, request.privateKeyPassphrase)
            if let token = request.bearerToken {
                set(CURLOPT_XOAUTH2_BEARER, token)
                set(CURLOPT_HTTPAUTH, waterhub_auth_bearer)
            }
            // TLS: always verify the peer and its name; a CA bundle replaces the system store.
            set(CURLOPT_SSL_VERIFYPEER, 1)
            set(CURLOPT_SSL_VERIFYHOST, 2)
            if !request.pinnedPublicKeys.isEmpty { set(CURLOPT_PINNEDPUBLICKEY, CurlFetcher.pinList(request.pinnedPublicKeys)) }
            set(CURLOPT_CAINFO, request.caBundlePath)
            set(CURLOPT_SSLCERT, request.clientCertificatePath)
            set(CURLOPT_SSLKEY, request.clientKeyPath)
            if scheme == "sftp" {
                var authTypes = 0
                if request.sshPrivateKeyPath != nil { authTypes |= waterhub_ssh_auth_publickey }
                if request.password != nil { authTypes |= waterhub_ssh_auth_password }
                if authTypes != 0 { set(CURLOPT_SSH_AUTH_TYPES, authTypes) }
                set(CURLOPT_SSH_PRIVATE_KEYFILE, request.sshPrivateKeyPath)
                // We decide on the host key ourselves, so that a refusal names the fingerprint seen.
                // libcurl calls the key function only with a known_hosts file, and the host-key
                // function only when neither SSH_HOST_PUBLIC_KEY option is set.
                if let knownHosts = request.sshKnownHostsPath {
                    set(CURLOPT_SSH_KNOWNHOSTS, knownHosts)
                    if setup == CURLE_OK { setup = waterhub_easy_setopt_sshkey_function(handle, curlKnownHostsKey) }
                    set(CURLOPT_SSH_KEYDATA, pointer: context.toOpaque())
                } else {
                    if setup == CURLE_OK { setup = waterhub_easy_setopt_sshhostkey_function(handle, curlHostKey) }
                    set(CURLOPT_SSH_HOSTKEYDATA, pointer: context.toOpaque())
                }
            }
            if let etag = request.etag { headers = waterhub_slist_append(headers, "If-None-Match: \(etag)") }
            if let lastModified = request.lastModified { headers = waterhub_slist_append(headers, "If-Modified-Since: \(lastModified)") }
            if let headers { set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(headers)) }
            set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorPointer.baseAddress!))
            if setup == CURLE_OK { setup = waterhub_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWrite) }
            set(CURLOPT_WRITEDATA, pointer: context.toOpaque())
            if setup == CURLE_OK { setup = waterhub_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeader) }
            set(CURLOPT_HEADERDATA, pointer: context.toOpaque())
            if setup == CURLE_OK { setup = waterhub_easy_setopt_progress_function(handle, curlProgress) }
            set(CURLOPT_XFERINFODATA, pointer: context.toOpaque())
            set(CURLOPT_NOPROGRESS, 0)
            guard setup == CURLE_OK else { return setup }
            return waterhub_easy_perform(handle)
        }
        try? file.close()
        let milliseconds = Int(started.duration(to: .now) / .milliseconds(1))
        var status = 0
        _ = withUnsafeMutablePointer(to: &status) { waterhub_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, $0) }
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let curlMessage = detail.isEmpty ? String(validatingCString: waterhub_easy_strerror(code)) ?? "unknown error" : detail

        if code != CURLE_OK {
            return .failure(classify(code, message: curlMessage, transfer: transfer, request: request))
        }
        let isHTTP = scheme == "http" || scheme == "https"
        if isHTTP && status == 304 {
            return .success(FetchResponse(status: 304, notModified: true, bytes: 0, sha256: "", etag: transfer.etag ?? request.etag,
                                          lastModified: transfer.lastModified ?? request.lastModified, durationMilliseconds: milliseconds))
        }
        if isHTTP && status >= 400 {
            return .failure(httpError(status: status))
        }
        if isHTTP, let expected = transfer.contentLength, expected != transfer.bytes, transfer.contentEncoding == nil {
            return .failure(FetchError(kind: .temporary, curlCode: 0, httpStatus: status,
                                       message: "the body has \(transfer.bytes) bytes but Content-Length said \(expected): the transfer was cut off"))
        }
        return .success(FetchResponse(status: status, notModified: false, bytes: transfer.bytes, sha256: transfer.hasher.digest(),
                                      etag: transfer.etag, lastModified: transfer.lastModified, durationMilliseconds: milliseconds))
    }

    /// `sha256//A;sha256//B`, accepting entries given with or without the `sha256//` prefix.
    static func pinList(_ keys: [String]) -> String {
        keys.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .map { $0.hasPrefix("sha256//") ? $0 : "sha256//" + $0 }
            .joined(separator: ";")
    }

    static func httpError(status: Int) -> FetchError {
        let kind: FetchError.Kind = status == 408 || status == 429 || status >= 500 ? .temporary : .permanent
        let meaning = [401: "the credentials were refused", 403: "access is forbidden", 404: "there is no file at this URL",
                       408: "the server timed out waiting for the request", 410: "the file is gone",
                       429: "the server asks to slow down"][status]
            ?? (status >= 500 ? "the server failed" : "the server refused the request")
        return FetchError(kind: kind, curlCode: 0, httpStatus: status, message: "HTTP \(status): \(meaning)")
    }

    private static func classify(_ code: CURLcode, message: String, transfer: Transfer, request: FetchRequest) -> FetchError {
        let raw = Int(code.rawValue)
        if transfer.cancelled.isSet {
            return FetchError(kind: .cancelled, curlCode: raw, message: "the transfer was cancelled before it finished")
        }
        if let rejection = transfer.hostKey.rejection {
            return FetchError(kind: .permanent, curlCode: raw, message: rejection)
        }
        if transfer.overLimit || code == CURLE_FILESIZE_EXCEEDED {
            return FetchError(kind: .permanent, curlCode: raw, message: "the file is larger than the source's limit of \(request.maxBytes) bytes")
        }
        if transfer.writeFailed {
            return FetchError(kind: .temporary, curlCode: raw, message: "cannot write the staging file \(request.stagingPath) (disk full?)")
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            if message.localizedCaseInsensitiveContains("too slow") {
                return FetchError(kind: .temporary, curlCode: raw, message: "the transfer stalled: less than \(request.lowSpeedBytesPerSecond) "
                    + "bytes per second for \(request.lowSpeedSeconds) s, so it was aborted (\(message))")
            }
            return FetchError(kind: .temporary, curlCode: raw, message: "the transfer timed out: " + message)
        case CURLE_PARTIAL_FILE:
            return FetchError(kind: .temporary, curlCode: raw, message: "the transfer was cut off before the end: " + message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return FetchError(kind: .temporary, curlCode: raw, message: "the host name could not be resolved: " + message)
        case CURLE_COULDNT_CONNECT:
            return FetchError(kind: .temporary, curlCode: raw, message: "the connection was refused or failed: " + message)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_AGAIN, CURLE_SSH:
            return FetchError(kind: .temporary, curlCode: raw, message: "the connection broke off: " + message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            let what = code == CURLE_SSL_PINNEDPUBKEYNOTMATCH ? "the server's public key matches none of the pinned keys: " : ""
            return FetchError(kind: .permanent, curlCode: raw, message: "TLS or host verification failed: " + what + message)
        case CURLE_LOGIN_DENIED:
            return FetchError(kind: .permanent, curlCode: raw, message: "the credentials were refused: " + message)
        case CURLE_REMOTE_ACCESS_DENIED:
            return FetchError(kind: .permanent, curlCode: raw, message: "access to the file was denied: " + message)
        case CURLE_REMOTE_FILE_NOT_FOUND, CURLE_FILE_COULDNT_READ_FILE:
            return FetchError(kind: .permanent, curlCode: raw, message: "there is no file at this URL: " + message)
        default:
            return FetchError(kind: .permanent, curlCode: raw, message: message)
        }
    }
}

/// The state of one transfer, reached from curl's C callbacks through an opaque pointer.
///
/// Only the transfer's own thread touches it while curl runs; the cancellation flag is atomic.
final class Transfer {
    let file: FileHandle
    let maxBytes: Int64
    let cancelled: CancellationFlag
    var hostKey: HostKeyCheck
    let hasher = BackgroundHasher()
    var bytes: Int64 = 0
    var overLimit = false
    var etag: String?
    var lastModified: String?
    var contentLength: Int64?
    var contentEncoding: String?
    var writeFailed = false

    init(file: FileHandle, maxBytes: Int64, cancelled: CancellationFlag, hostKey: HostKeyCheck) {
        self.file = file
        self.maxBytes = maxBytes
        self.cancelled = cancelled
        self.hostKey = hostKey
    }

    /// A header line; a new status line (after a redirect or a 100) starts over.
    func header(_ line: String) {
        if line.hasPrefix("HTTP/") {
            etag = nil
            lastModified = nil
            contentLength = nil
            contentEncoding = nil
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "etag": etag = value
        case "last-modified": lastModified = value
        case "content-length": contentLength = Int64(value)
        case "content-encoding": contentEncoding = value.lowercased() == "identity" ? nil : value
        default: break
        }
    }
}

/// A flag set from another thread when the task that waits for a transfer is cancelled.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}

private let curlWrite: waterhub_write_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return 0 }
    if transfer.bytes + Int64(length) > transfer.maxBytes {
        transfer.overLimit = true
        return 0
    }
    let buffer = UnsafeRawBufferPointer(start: data, count: length)
    transfer.hasher.update(buffer)
    // Straight from curl's buffer (no Data copy of every chunk of a large feed).
    do {
        try transfer.file.write(contentsOf: buffer)
    } catch {
        transfer.writeFailed = true
        return 0
    }
    transfer.bytes += Int64(length)
    return length
}

private let curlHeader: waterhub_write_callback = { data, size, count, context in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    if let data {
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        transfer.header(line)
    }
    return length
}

private let curlProgress: waterhub_progress_callback = { context, _, _, _, _ in
    let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
    return transfer.cancelled.isSet ? 1 : 0
}
