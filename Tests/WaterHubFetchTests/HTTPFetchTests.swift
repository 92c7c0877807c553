import Foundation
import Testing
import WaterHubFetch
import WaterHubTestSupport

/// The fetcher against a scripted HTTP server on loopback: validators, limits, error classes.
@Suite struct HTTPFetchTests {
    let fetcher = CurlFetcher()

    @Test func conditionalRequestWithMatchingETagIsNotModifiedAndWritesNothing() async throws {
        let server = try ScriptedHTTPServer { request, _ in
            request.headers["if-none-match"] == "\"v1\""
                ? .respond(status: 304, headers: ["ETag": "\"v1\""])
                : .respond(status: 200, headers: ["ETag": "\"v1\"", "Last-Modified": "Mon, 06 Jan 2025 08:00:00 GMT"],
                           body: Array(sampleFeed.utf8))
        }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)

        let first = try await fetcher.fetch(request)
        #expect(first.status == 200)
        #expect(!first.notModified)
        #expect(first.bytes == Int64(sampleFeed.utf8.count))
        #expect(first.sha256 == sampleFeedSHA256)
        #expect(first.etag == "\"v1\"")
        #expect(contents(of: directory.stagingPath) == sampleFeed)

        try FileManager.default.removeItem(atPath: directory.stagingPath)
        request.etag = first.etag
        request.lastModified = first.lastModified
        let second = try await fetcher.fetch(request)
        #expect(second.notModified)
        #expect(second.status == 304)
        #expect(second.bytes == 0)
        #expect(second.etag == "\"v1\"")
        #expect(!fileExists(directory.stagingPath))
        let conditional = try #require(server.requests.last)
        #expect(conditional.headers["if-none-match"] == "\"v1\"")
        #expect(conditional.headers["if-modified-since"] == "Mon, 06 Jan 2025 08:00:00 GMT")
    }

    @Test func serverErrorsAreRetriedUntilTheFeedArrives() async throws {
        let server = try ScriptedHTTPServer { _, index in
            index < 2 ? .respond(status: 500) : .respond(status: 200, body: Array(sampleFeed.utf8))
        }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        let sleep = RecordingSleep()
        let policy = RetryPolicy(maxRetries: 3, baseDelay: .seconds(2), maxDelay: .seconds(60), jitter: 0.5)

        let outcome = await fetcher.fetch(FetchRequest(url: server.url(), stagingPath: directory.stagingPath),
                                          retrying: policy, sleep: sleep.function)

        let response = try outcome.get()
        #expect(response.sha256 == sampleFeedSHA256)
        #expect(outcome.attempts == 3)
        #expect(outcome.failures.map(\.httpStatus) == [500, 500])
        #expect(outcome.failures.allSatisfy { $0.kind == .temporary })
        #expect(server.requests.count == 3)
        let delays = sleep.recorded
        try #require(delays.count == 2)
        #expect(delays[0] >= .seconds(1) && delays[0] <= .seconds(3))
        #expect(delays[1] >= .seconds(2) && delays[1] <= .seconds(6))
    }

    @Test func retriesStopAfterTheLimitWithTheLastError() async throws {
        let server = try ScriptedHTTPServer { _, _ in .respond(status: 503) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        let sleep = RecordingSleep()

        let outcome = await fetcher.fetch(FetchRequest(url: server.url(), stagingPath: directory.stagingPath),
                                          retrying: RetryPolicy(maxRetries: 2), sleep: sleep.function)

        #expect(outcome.attempts == 3)
        #expect(sleep.recorded.count == 2)
        #expect(server.requests.count == 3)
        #expect(throws: FetchError(kind: .temporary, curlCode: 0, httpStatus: 503, message: "HTTP 503: the server failed")) {
            try outcome.get()
        }
        #expect(!fileExists(directory.stagingPath))
    }

    @Test(arguments: [(401, "credentials were refused"), (403, "forbidden"), (404, "no file at this URL")])
    func clientErrorsArePermanentAndNotRetried(status: Int, meaning: String) async throws {
        let server = try ScriptedHTTPServer { _, _ in .respond(status: status, body: Array("no".utf8)) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)
        request.username = "aquaflan"
        request.password = "pa55-w0rd-secret"

        let outcome = await fetcher.fetch(request, retrying: RetryPolicy(maxRetries: 3), sleep: RecordingSleep().function)

        let error = try #require(outcome.result.failure)
        #expect(error.kind == .permanent)
        #expect(error.httpStatus == status)
        #expect(error.message.contains(meaning))
        #expect(outcome.attempts == 1)
        #expect(server.requests.count == 1)
        #expect(server.requests.first?.headers["authorization"]?.hasPrefix("Basic ") == true)
        #expect(!error.description.contains("pa55-w0rd-secret"))
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func stalledTransferIsAbortedAsTemporary() async throws {
        let server = try ScriptedHTTPServer { _, _ in .stall(contentLength: 1000) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)
        request.lowSpeedBytesPerSecond = 1
        request.lowSpeedSeconds = 1

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .temporary)
        #expect(error?.curlCode == 28)
        #expect(error?.message.contains("stalled") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func bodyShorterThanItsContentLengthFailsAsCutOff() async throws {
        let server = try ScriptedHTTPServer { _, _ in .truncate(announced: 1000, body: Array(sampleFeed.utf8)) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")

        let error = await #expect(throws: FetchError.self) {
            try await fetcher.fetch(FetchRequest(url: server.url(), stagingPath: directory.stagingPath))
        }

        #expect(error?.kind == .temporary)
        #expect(error?.curlCode == 18)
        #expect(error?.message.contains("cut off") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    /// With Content-Length curl refuses before the body (63); without it the write callback stops it (23).
    @Test(arguments: [true, false])
    func bodyOverMaxBytesIsRefusedPermanently(announcesLength: Bool) async throws {
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 200_000)
        let server = try ScriptedHTTPServer { _, _ in
            announcesLength ? .respond(status: 200, body: body) : .respondUntilClose(status: 200, body: body)
        }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)
        request.maxBytes = 100_000

        let error = await #expect(throws: FetchError.self) { try await fetcher.fetch(request) }

        #expect(error?.kind == .permanent)
        #expect(error?.curlCode == (announcesLength ? 63 : 23))
        #expect(error?.message.contains("larger than the source's limit of 100000 bytes") == true)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func refusedConnectionIsTemporary() async throws {
        let port = try freeLoopbackPort()
        let directory = TemporaryDirectory("fetch")

        let error = await #expect(throws: FetchError.self) {
            try await fetcher.fetch(FetchRequest(url: "http://127.0.0.1:\(port)/feed.csv", stagingPath: directory.stagingPath))
        }

        #expect(error?.kind == .temporary)
        #expect(error?.curlCode == 7)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func cancellingTheTaskAbortsTheTransferAndRemovesTheStagingFile() async throws {
        let server = try ScriptedHTTPServer { _, _ in .stall(contentLength: 1000) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        var request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)
        // Only cancellation can end this transfer within the test's time.
        request.lowSpeedSeconds = 60
        request.totalTimeoutSeconds = 60
        let fetcher = self.fetcher
        let task = Task {
            await fetcher.fetch(request, retrying: RetryPolicy(maxRetries: 3), sleep: RecordingSleep().function)
        }
        try #require(await eventually { server.requests.count == 1 && fileExists(directory.stagingPath) })

        task.cancel()
        let outcome = await task.value

        #expect(outcome.result.failure?.kind == .cancelled)
        #expect(outcome.attempts == 1)
        #expect(server.requests.count == 1)
        #expect(!fileExists(directory.stagingPath))
    }

    @Test func cancellationWhileWaitingToRetryStopsRetrying() async throws {
        let server = try ScriptedHTTPServer { _, _ in .respond(status: 500) }
        defer { server.stop() }
        let directory = TemporaryDirectory("fetch")
        // The hub shuts down during the first backoff.
        let cancellingSleep: @Sendable (Duration) async throws -> Void = { _ in
            withUnsafeCurrentTask { $0?.cancel() }
            throw CancellationError()
        }

        let request = FetchRequest(url: server.url(), stagingPath: directory.stagingPath)
        let fetcher = self.fetcher
        // A task of its own, so that the test's task is not the one cancelled.
        let outcome = await Task {
            await fetcher.fetch(request, retrying: RetryPolicy(maxRetries: 5), sleep: cancellingSleep)
        }.value

        #expect(outcome.result.failure?.kind == .cancelled)
        #expect(outcome.attempts == 1)
        #expect(server.requests.count == 1)
        #expect(!fileExists(directory.stagingPath))
    }
}

extension Result {
    /// The error, if this is a failure.
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
