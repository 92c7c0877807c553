import Logging

/// How often and how patiently a temporary fetch failure is retried: exponential backoff with
/// jitter, bounded by a cap.
public struct RetryPolicy: Sendable, Hashable {
    /// Retries after the first attempt (0: try once).
    public var maxRetries: Int
    /// The delay before the first retry; each later one doubles it.
    public var baseDelay: Duration
    /// No delay is longer than this, jitter included.
    public var maxDelay: Duration
    /// How far a delay may stray from its nominal value, as a fraction (0.5: between 0.5× and 1.5×).
    public var jitter: Double

    /// A policy; the defaults wait about 2 s, 4 s, 8 s (±50%) and never more than 5 minutes.
    public init(maxRetries: Int = 3, baseDelay: Duration = .seconds(2), maxDelay: Duration = .seconds(300), jitter: Double = 0.5) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = max(.zero, baseDelay)
        self.maxDelay = max(.zero, maxDelay)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// Try once, never retry.
    public static let never = RetryPolicy(maxRetries: 0)

    /// The delay before retry number `retry` (1 for the first), for a uniform `random` in 0...1.
    public func delay(beforeRetry retry: Int, random: Double) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let nominal = min(baseDelay * (1 << exponent), maxDelay)
        let factor = 1 + jitter * (2 * min(max(random, 0), 1) - 1)
        return min(nominal * factor, maxDelay)
    }

    /// The delay before retry number `retry` (1 for the first), with jitter from `generator`.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        delay(beforeRetry: retry, random: Double.random(in: 0...1, using: &generator))
    }
}

/// The end of a fetch with retries: the last attempt's result and how many attempts were made.
public struct FetchOutcome: Sendable {
    /// The response of the successful attempt, or the error of the last one.
    public var result: Result<FetchResponse, FetchError>
    /// How many transfers were started (1 when the first one settled it).
    public var attempts: Int
    /// The errors of the attempts that failed, oldest first (the last one is in `result` too when it failed).
    public var failures: [FetchError]

    /// The response, or the last error thrown.
    public func get() throws(FetchError) -> FetchResponse { try result.get() }
}

extension CurlFetcher {
    /// Sleeps with `Task.sleep`, the default wait between attempts.
    public static let taskSleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }

    /// Fetches `request`, retrying temporary failures only, as `policy` says; `sleep` waits
    /// between attempts (inject a no-op in tests). Cancelling the calling task aborts the
    /// transfer in flight or the wait, and ends with a `.cancelled` error; no staging file is left.
    public func fetch(_ request: FetchRequest, retrying policy: RetryPolicy,
                      sleep: @Sendable (Duration) async throws -> Void = CurlFetcher.taskSleep) async -> FetchOutcome {
        var generator = SystemRandomNumberGenerator()
        var failures: [FetchError] = []
        var attempt = 0
        while true {
            attempt += 1
            let error: FetchError
            do {
                return FetchOutcome(result: .success(try await fetch(request)), attempts: attempt, failures: failures)
            } catch let thrown {
                error = thrown
            }
            failures.append(error)
            guard error.kind == .temporary, attempt <= policy.maxRetries else {
                return FetchOutcome(result: .failure(error), attempts: attempt, failures: failures)
            }
            let delay = policy.delay(beforeRetry: attempt, using: &generator)
            logger.warning("fetch attempt failed; retrying", metadata: [
                "url": "\(request.redactedURL)", "attempt": "\(attempt)", "curl_code": "\(error.curlCode)",
                "error": "\(error.message)", "retry_in_ms": "\(Int(delay / .milliseconds(1)))",
            ])
            do {
                try await sleep(delay)
                try Task.checkCancellation()
            } catch {
                let stopped = FetchError(kind: .cancelled, curlCode: 0, message: "the fetch was cancelled while waiting to retry")
                return FetchOutcome(result: .failure(stopped), attempts: attempt, failures: failures)
            }
        }
    }
}
