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

    /// 500 without any internal detail; the detail goes to the log.
    public static let internalError = HTTPError(.internalServerError, message: "internal error; the operator can find it in the hub's log")
}
