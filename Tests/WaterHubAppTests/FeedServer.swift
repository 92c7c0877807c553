import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A real HTTP server on loopback that serves feed files, for tests that fetch through libcurl.
///
/// Files can be replaced while it runs; every answer carries an ETag, and a matching
/// If-None-Match gets 304.
final class FeedServer: Sendable {
    private let files = Mutex<[String: [UInt8]]>([:])
    private let requests = Mutex<[String]>([])
    private let failures = Mutex<[String: (status: Int, remaining: Int)]>([:])
    private let stalling = Mutex<Set<String>>([])

    func publish(_ name: String, _ bytes: [UInt8]) {
        files.withLock { $0[name] = bytes }
    }

    /// The next `count` requests for `name` get `status`.
    func fail(_ name: String, times count: Int, status: Int) {
        failures.withLock { $0[name] = (status, count) }
    }

    /// Requests for `name` get their headers and a few bytes, then nothing, until `unstall`
    /// (at most 30 s, so that the server can always stop).
    func stall(_ name: String) {
        _ = stalling.withLock { $0.insert(name) }
    }

    func unstall(_ name: String) {
        _ = stalling.withLock { $0.remove(name) }
    }

    /// The paths requested so far, with the status answered.
    var log: [String] { requests.withLock { $0 } }

    /// Runs the server on a free loopback port while `body` runs; the server stops afterwards.
    func run<T: Sendable>(_ body: @Sendable (_ baseURL: String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("feeds/{name}") { request, context -> Response in
            let name = try context.parameters.require("name")
            let failure = self.failures.withLock { failures -> Int? in
                guard let scripted = failures[name], scripted.remaining > 0 else { return nil }
                failures[name] = (scripted.status, scripted.remaining - 1)
                return scripted.status
            }
            if let failure {
                self.requests.withLock { $0.append("\(name) \(failure)") }
                return Response(status: .init(code: failure))
            }
            if self.stalling.withLock({ $0.contains(name) }) {
                self.requests.withLock { $0.append("\(name) stalled") }
                return Response(status: .ok, headers: [.contentType: "text/csv"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "source_event_id,"))
                    for _ in 0..<300 where self.stalling.withLock({ $0.contains(name) }) {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await writer.finish(nil)
                })
            }
            guard let bytes = self.files.withLock({ $0[name] }) else {
                self.requests.withLock { $0.append("\(name) 404") }
                return Response(status: .notFound)
            }
            let etag = "\"\(bytes.count)-\(bytes.reduce(0) { ($0 &* 31) &+ Int($1) })\""
            if request.headers[.ifNoneMatch] == etag {
                self.requests.withLock { $0.append("\(name) 304") }
                return Response(status: .notModified, headers: [.eTag: etag])
            }
            self.requests.withLock { $0.append("\(name) 200") }
            return Response(status: .ok, headers: [.eTag: etag, .contentType: "text/csv"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)/feeds")
        }
    }
}
