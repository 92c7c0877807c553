import Foundation
import Hummingbird
import Synchronization
import WaterHubStorage

/// A token bucket per access token: a burst of `requestsPerMinute` requests, refilled evenly.
///
/// Kept in memory: a restart forgets it, which at worst allows one more burst.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    public let requestsPerMinute: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(requestsPerMinute: Int) {
        self.requestsPerMinute = requestsPerMinute
    }

    /// Takes one request from the token's bucket; returns nil when allowed, else the whole
    /// seconds to wait before the next request is.
    public func take(_ tokenID: String, at now: Date) -> Int? {
        let capacity = Double(requestsPerMinute), perSecond = Double(requestsPerMinute) / 60
        return buckets.withLock { buckets in
            var bucket = buckets[tokenID] ?? Bucket(tokens: capacity, updated: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.updated)) * perSecond)
            bucket.updated = now
            defer { buckets[tokenID] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
        }
    }
}

/// Refuses a token's request over its rate with 429 and `Retry-After`; runs after the
/// authenticator, so that every request it counts belongs to a known token.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let limiter: RateLimiter
    let now: @Sendable () -> Date

    public init(limiter: RateLimiter, now: @escaping @Sendable () -> Date = { Date() }) {
        self.limiter = limiter
        self.now = now
    }

    public func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        if let token = context.identity, let wait = limiter.take(token.id, at: now()) {
            throw APIError.tooManyRequests(retryAfterSeconds: wait)
        }
        return try await next(request, context)
    }
}

/// Refuses a request whose declared body is over the limit with 413 before anything reads it;
/// a body without a declared length is limited where it is read.
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    let maxBodyBytes: Int

    public init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    public func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            throw APIError.bodyTooLarge(limit: maxBodyBytes)
        }
        return try await next(request, context)
    }
}
