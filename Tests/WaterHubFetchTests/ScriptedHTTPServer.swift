import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One request as the scripted server received it.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    /// Header names lowercased.
    var headers: [String: String]
}

/// What the scripted server does with one request.
enum ScriptedReply: Sendable {
    /// A complete response, then the connection is closed.
    case respond(status: Int, headers: [String: String] = [:], body: [UInt8] = [])
    /// A response without Content-Length whose end is the closing of the connection.
    case respondUntilClose(status: Int, body: [UInt8])
    /// The status line and headers (announcing `contentLength` bytes), then silence until the
    /// client hangs up or the server stops.
    case stall(contentLength: Int)
    /// Headers announcing `announced` bytes, then only `body`, then the connection is closed.
    case truncate(announced: Int, body: [UInt8])
}

/// A small HTTP/1.1 server on 127.0.0.1 (an ephemeral port), on a thread of its own, that
/// answers each request as its script says. Written on POSIX sockets so that the fetch tests
/// need no other package; every wait in it is bounded.
final class ScriptedHTTPServer: Sendable {
    /// The port it listens on.
    let port: Int
    private let listener: Int32
    private let script: @Sendable (ReceivedRequest, Int) -> ScriptedReply
    private let stopping = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let received = Mutex<[ReceivedRequest]>([])
    private let accepted = Atomic<Int>(0)

    /// Starts the server; `script` gets each request and its index (0 for the first).
    init(_ script: @escaping @Sendable (_ request: ReceivedRequest, _ index: Int) -> ScriptedReply) throws {
        self.script = script
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var yes: Int32 = 1
        setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(socket, 16) == 0 else {
            close(socket)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        listener = socket
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.name = "scripted-http-server"
        thread.start()
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    func url(_ path: String = "/feed.csv") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// The requests received so far, in order.
    var requests: [ReceivedRequest] { received.withLock { $0 } }

    /// How many connections were accepted.
    var connectionCount: Int { accepted.load(ordering: .relaxed) }

    /// Stops serving and waits (at most 5 s) for the server thread to end; every test calls it.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        for _ in 0..<500 where !finished.load(ordering: .acquiring) {
            usleep(10_000)
        }
    }

    private func serve() {
        defer {
            close(listener)
            finished.store(true, ordering: .releasing)
        }
        while !stopping.load(ordering: .relaxed) {
            guard wait(for: listener, milliseconds: 20) else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            accepted.add(1, ordering: .relaxed)
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        guard let request = readRequest(from: client) else { return }
        let index = received.withLock { requests in
            requests.append(request)
            return requests.count - 1
        }
        switch script(request, index) {
        case .respond(let status, let headers, let body):
            var all = headers
            all["Content-Length"] = "\(body.count)"
            send(client, head(status: status, headers: all) + body)
        case .respondUntilClose(let status, let body):
            send(client, head(status: status, headers: [:]) + body)
        case .stall(let contentLength):
            send(client, head(status: 200, headers: ["Content-Length": "\(contentLength)"]))
            // Hold the connection open without sending until the client gives up (bounded).
            var buffer = [UInt8](repeating: 0, count: 512)
            for _ in 0..<1500 where !stopping.load(ordering: .relaxed) {
                if wait(for: client, milliseconds: 10), recv(client, &buffer, buffer.count, 0) <= 0 { break }
            }
        case .truncate(let announced, let body):
            send(client, head(status: 200, headers: ["Content-Length": "\(announced)"]) + body)
        }
    }

    private func head(status: Int, headers: [String: String]) -> [UInt8] {
        let reason = [200: "OK", 304: "Not Modified", 401: "Unauthorized", 404: "Not Found", 500: "Internal Server Error"][status] ?? "Status"
        var text = "HTTP/1.1 \(status) \(reason)\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    /// Reads up to the end of the request head (at most 2 s, 64 KiB).
    private func readRequest(from client: Int32) -> ReceivedRequest? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        for _ in 0..<100 where !stopping.load(ordering: .relaxed) {
            guard wait(for: client, milliseconds: 20) else { continue }
            let count = recv(client, &buffer, buffer.count, 0)
            if count <= 0 { return nil }
            data += buffer[0..<count]
            if data.count > 65536 { return nil }
            if let end = data.firstRange(of: terminator) {
                let lines = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                let requestLine = lines[0].split(separator: " ")
                guard requestLine.count >= 2 else { return nil }
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return ReceivedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers)
            }
        }
        return nil
    }

    private func wait(for socket: Int32, milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }

    private func send(_ client: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }
}
