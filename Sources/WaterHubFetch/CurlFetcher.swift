import CCurl
import Crypto
import Foundation
import Synchronization

/// Fetches one URL with libcurl into a staging file, hashing the body as it arrives.
///
/// `curl_easy_perform` blocks, so each transfer runs on a thread of its own, never on Swift's
/// cooperative pool; cancelling the calling task aborts the transfer at its next progress tick.
public struct CurlFetcher: Sendable {
    public init() {
        _ = CurlFetcher.globalInit
    }

    private static let globalInit: Void = {
        curl_global_init(waterhub_global_default)
    }()

    /// The libcurl version and the protocols it was built with.
    public static var version: String { String(cString: curl_version()) }

    /// Performs the transfer. On success the body is in `request.stagingPath`; on failure the
    /// staging file is removed.
    public func fetch(_ request: FetchRequest) async throws(FetchError) -> FetchResponse {
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
        if case .failure = result { try? FileManager.default.removeItem(atPath: request.stagingPath) }
        return try result.get()
    }

    private static func perform(_ request: FetchRequest, cancelled: CancellationFlag) -> Result<FetchResponse, FetchError> {
        let started = ContinuousClock.now
        guard let handle = curl_easy_init() else {
            return .failure(FetchError(kind: .temporary, curlCode: Int(CURLE_FAILED_INIT.rawValue), message: "libcurl could not start a transfer"))
        }
        defer { curl_easy_cleanup(handle) }
        guard FileManager.default.createFile(atPath: request.stagingPath, contents: nil),
              let file = FileHandle(forWritingAtPath: request.stagingPath) else {
            return .failure(FetchError(kind: .permanent, curlCode: 0, message: "cannot create the staging file \(request.stagingPath)"))
        }
        let transfer = Transfer(file: file, maxBytes: request.maxBytes, cancelled: cancelled)
        let context = Unmanaged.passRetained(transfer)
        defer { context.release() }
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headers) }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup = CURLE_OK
            func set(_ option: CURLoption, _ value: Int) { if setup == CURLE_OK { setup = waterhub_easy_setopt_long(handle, option, value) } }
            func set(_ option: CURLoption, _ value: String?) {
                guard let value, setup == CURLE_OK else { return }
                setup = waterhub_easy_setopt_string(handle, option, value)
            }
            set(CURLOPT_URL, request.url)
            set(CURLOPT_PROTOCOLS_STR, "https,http,sftp,file")
            set(CURLOPT_REDIR_PROTOCOLS_STR, "https,http")
            set(CURLOPT_FOLLOWLOCATION, 1)
            set(CURLOPT_MAXREDIRS, 5)
            set(CURLOPT_NOSIGNAL, 1)
            set(CURLOPT_CONNECTTIMEOUT, request.connectTimeoutSeconds)
            set(CURLOPT_TIMEOUT, request.totalTimeoutSeconds)
            set(CURLOPT_LOW_SPEED_LIMIT, request.lowSpeedBytesPerSecond)
            set(CURLOPT_LOW_SPEED_TIME, request.lowSpeedSeconds)
            set(CURLOPT_USERAGENT, "WaterHub/1 (libcurl)")
            set(CURLOPT_ACCEPT_ENCODING, "")
            set(CURLOPT_USERNAME, request.username)
            set(CURLOPT_PASSWORD, request.password)
            if let token = request.bearerToken {
                set(CURLOPT_XOAUTH2_BEARER, token)
                set(CURLOPT_HTTPAUTH, waterhub_auth_bearer)
            }
            if !request.pinnedPublicKeys.isEmpty { set(CURLOPT_PINNEDPUBLICKEY, request.pinnedPublicKeys.joined(separator: ";")) }
            set(CURLOPT_CAINFO, request.caBundlePath)
            set(CURLOPT_SSLCERT, request.clientCertificatePath)
            set(CURLOPT_SSLKEY, request.clientKeyPath)
            set(CURLOPT_SSH_PRIVATE_KEYFILE, request.sshPrivateKeyPath)
            set(CURLOPT_SSH_KNOWNHOSTS, request.sshKnownHostsPath)
            set(CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, request.sshHostKeySHA256)
            if let etag = request.etag { headers = curl_slist_append(headers, "If-None-Match: \(etag)") }
            if let lastModified = request.lastModified { headers = curl_slist_append(headers, "If-Modified-Since: \(lastModified)") }
            if setup == CURLE_OK, let headers { setup = waterhub_easy_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headers)) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorPointer.baseAddress!)) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, curlWrite) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque()) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, curlHeader) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque()) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_progress_function(handle, curlProgress) }
            if setup == CURLE_OK { setup = waterhub_easy_setopt_pointer(handle, CURLOPT_XFERINFODATA, context.toOpaque()) }
            set(CURLOPT_NOPROGRESS, 0)
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        try? file.close()
        let milliseconds = Int(started.duration(to: .now).components.seconds * 1000)
            + Int(started.duration(to: .now).components.attoseconds / 1_000_000_000_000_000)
        var status = 0
        _ = withUnsafeMutablePointer(to: &status) { waterhub_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, $0) }
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let curlMessage = detail.isEmpty ? String(validatingCString: curl_easy_strerror(code)) ?? "unknown error" : detail

        if code != CURLE_OK {
            return .failure(classify(code, message: curlMessage, transfer: transfer, request: request))
        }
        if status == 304 {
            return .success(FetchResponse(status: 304, notModified: true, bytes: 0, sha256: "", etag: transfer.etag ?? request.etag,
                                          lastModified: transfer.lastModified ?? request.lastModified, durationMilliseconds: milliseconds))
        }
        if status >= 400 {
            let kind: FetchError.Kind = status == 429 || status >= 500 ? .temporary : .permanent
            let meaning = [401: "the credentials were refused", 403: "access is forbidden", 404: "there is no file at this URL",
                           429: "the server asks to slow down"][status] ?? (status >= 500 ? "the server failed" : "the server refused the request")
            return .failure(FetchError(kind: kind, curlCode: 0, httpStatus: status, message: "HTTP \(status): \(meaning)"))
        }
        if let expected = transfer.contentLength, expected != transfer.bytes, transfer.contentEncoding == nil {
            return .failure(FetchError(kind: .temporary, curlCode: 0, httpStatus: status,
                                       message: "the body has \(transfer.bytes) bytes but Content-Length said \(expected): the transfer was cut off"))
        }
        return .success(FetchResponse(status: status, notModified: false, bytes: transfer.bytes, sha256: transfer.digest(),
                                      etag: transfer.etag, lastModified: transfer.lastModified, durationMilliseconds: milliseconds))
    }

    private static func classify(_ code: CURLcode, message: String, transfer: Transfer, request: FetchRequest) -> FetchError {
        let raw = Int(code.rawValue)
        if transfer.cancelled.isSet {
            return FetchError(kind: .cancelled, curlCode: raw, message: "the transfer was stopped because the hub is shutting down")
        }
        if transfer.overLimit {
            return FetchError(kind: .permanent, curlCode: raw, message: "the file is larger than the source's limit of \(request.maxBytes) bytes")
        }
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT,
             CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM,
             CURLE_AGAIN:
            let partial = code == CURLE_PARTIAL_FILE ? "the transfer was cut off before the end: " : ""
            let slow = code == CURLE_OPERATION_TIMEDOUT ? "timed out or stalled: " : ""
            return FetchError(kind: .temporary, curlCode: raw, message: partial + slow + message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND:
            return FetchError(kind: .permanent, curlCode: raw, message: "TLS or host verification failed: " + message)
        case CURLE_LOGIN_DENIED:
            return FetchError(kind: .permanent, curlCode: raw, message: "the credentials were refused: " + message)
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
    var hasher = SHA256()
    var bytes: Int64 = 0
    var overLimit = false
    var etag: String?
    var lastModified: String?
    var contentLength: Int64?
    var contentEncoding: String?
    var writeFailed = false

    init(file: FileHandle, maxBytes: Int64, cancelled: CancellationFlag) {
        self.file = file
        self.maxBytes = maxBytes
        self.cancelled = cancelled
    }

    func digest() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
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
    transfer.hasher.update(bufferPointer: buffer)
    do {
        try transfer.file.write(contentsOf: Data(buffer))
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
