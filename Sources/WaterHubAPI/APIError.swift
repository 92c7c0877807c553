import Hummingbird
import HTTPTypes
import WaterHubStorage

/// The one place where what went wrong becomes an HTTP answer.
///
/// Bodies say what to fix (which parameter, which field) and never carry SQL, file paths,
/// tokens or any town's data.
public enum APIError {
    /// 401 with a `WWW-Authenticate` challenge.
    public static func unauthorized(_ message: String) -> HTTPError {
        HTTPError(.unauthorized, headers: [.wwwAuthenticate: #"Bearer realm="waterhub""#], message: message)
    }

    /// 404 for any town that is not the token's own, exactly as for a town that does not exist,
    /// so that the API does not even reveal which towns are tenants.
    public static let notFound = HTTPError(.notFound, message: "not found")

    /// 403 for a valid token without the scope this route needs on its own town.
    public static func forbidden(scope: String) -> HTTPError {
        HTTPError(.forbidden, message: "this token's scope does not allow this; it needs scope \(scope)")
    }

    /// 400 naming the parameter and what it must be.
    public static func badParameter(_ name: String, _ expected: String) -> HTTPError {
        HTTPError(.badRequest, message: "parameter \(name): \(expected)")
    }

    /// 400 naming a header and what it must be.
    public static func badHeader(_ name: String, _ expected: String) -> HTTPError {
        HTTPError(.badRequest, message: "header \(name): \(expected)")
    }

    /// 422 naming the body field and what it must be.
    public static func badField(_ name: String, _ expected: String) -> HTTPError {
        HTTPError(.unprocessableContent, message: "field \(name): \(expected)")
    }

    /// 404 for a household key that is not one of the town's own (another town's key included).
    public static let unknownHousehold = HTTPError(.notFound, message: "no household with this key in this town; use a key from GET cases")

    /// 400 for a body that is not the JSON object a route takes.
    public static func badBody(_ expected: String) -> HTTPError {
        HTTPError(.badRequest, message: "body: \(expected)")
    }

    /// 409 for an idempotency key used before for another request.
    public static let idempotencyKeyReused = HTTPError(
        .conflict, message: "header Idempotency-Key: already used for another contact; a retry must send the same body, a new contact needs a new key")

    /// 413 for a body over `api.max_body_bytes`.
    public static func bodyTooLarge(limit: Int) -> HTTPError {
        HTTPError(.contentTooLarge, message: "the request body is larger than this hub accepts (\(limit) bytes)")
    }

    /// 415 for a body that is not JSON.
    public static let notJSON = HTTPError(.unsupportedMediaType, message: "send the body as application/json")

    /// 429 with `Retry-After`: the token asked more often than `api.requests_per_minute`.
    public static func tooManyRequests(retryAfterSeconds: Int) -> HTTPError {
        HTTPError(.tooManyRequests, headers: [.retryAfter: String(retryAfterSeconds)],
                  message: "too many requests for this token; try again in \(retryAfterSeconds) s")
    }

    /// 405 with `Allow` for a known path asked with another method.
    public static func methodNotAllowed(allowed: [String]) -> HTTPError {
        HTTPError(.methodNotAllowed, headers: [.allow: allowed.joined(separator: ", ")], message: "this path takes \(allowed.joined(separator: ", "))")
    }

    /// 500 without any internal detail; the detail goes to the log.
    public static let internalError = HTTPError(.internalServerError, message: "internal error; the operator can find it in the hub's log")
}
