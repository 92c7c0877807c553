import Hummingbird

/// Answers 405 with `Allow` for a known path asked with a method it does not take (the router
/// alone answers 404). Added to the router after every route, so that it only ever sees the
/// requests no route took; it matches path patterns, never towns, so it reveals nothing.
public struct MethodNotAllowedMiddleware: RouterMiddleware {
    public typealias Context = HubRequestContext
    private let patterns: [(segments: [Substring], methods: [String])]

    /// - Parameter routes: the router's routes, once they are all added.
    public init(routes: [Router<HubRequestContext>.RouteDescription]) {
        var byPath: [String: [String]] = [:]
        for route in routes { byPath["\(route.path)", default: []].append(route.method.rawValue) }
        patterns = byPath.map { path, methods in (path.split(separator: "/"), methods.sorted()) }
    }

    public func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/")
        let allowed = patterns.filter { pattern in
            pattern.segments.count == segments.count
                && zip(pattern.segments, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.flatMap(\.methods)
        guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else { return try await next(request, context) }
        throw APIError.methodNotAllowed(allowed: allowed.sorted())
    }
}
