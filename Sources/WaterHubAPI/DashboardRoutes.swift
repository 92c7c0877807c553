import Crypto
import Foundation
import Hummingbird
import HummingbirdAuth
import NIOCore
import HTTPTypes
import Synchronization
import WaterHubCore
import WaterHubStatistics
import WaterHubStorage

/// `/dashboard`: the regional cell's page, server-rendered HTML with inline SVG charts and no
/// script at all. A `stats` token opens it, as a bearer header or through the login form, which
/// keeps the token on the server side: the cookie holds only a random session id.
public struct DashboardRoutes: Sendable {
    let store: StatisticsStore
    let ledger: Ledger
    let sessions: DashboardSessions
    let today: @Sendable () -> CalendarDate
    let now: @Sendable () -> Date

    /// The session cookie: HttpOnly (no script can read it), Secure (only over HTTPS; browsers
    /// also accept it from http://localhost), SameSite=Strict (never sent from another site).
    static let cookieName = "waterhub_dashboard"
    /// The largest login form read (`api.max_body_bytes`); a larger body gets 413.
    let maxFormBytes: Int

    public init(store: StatisticsStore, ledger: Ledger, sessions: DashboardSessions = DashboardSessions(), maxFormBytes: Int = 64 * 1024,
                today: @escaping @Sendable () -> CalendarDate, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.ledger = ledger
        self.maxFormBytes = maxFormBytes
        self.sessions = sessions
        self.today = today
        self.now = now
    }

    /// Adds the routes, behind the given middleware (the audit log).
    public func add(to group: RouterGroup<HubRequestContext>) {
        group.get("dashboard", use: page)
        group.get("dashboard/login", use: loginForm)
        group.post("dashboard/login", use: login)
        group.post("dashboard/logout", use: logout)
    }

    // MARK: the page

    /// `GET /dashboard?week=`: the page for a stats token (bearer or session); without either, the
    /// login form (303); any other valid token gets 404, as on `/v1/stats/`.
    @Sendable func page(_ request: Request, context: HubRequestContext) async throws -> Response {
        let query = try StrictQuery(request, allowed: ["week"])
        var chosenWeek: ISOWeek?
        if let text = query["week"] {
            guard let week = ISOWeek(text) else { throw APIError.badParameter("week", "an ISO week such as 2026-W47") }
            chosenWeek = week
        }
        guard let token = try await identity(request, context: context) else {
            return DashboardRoutes.redirect(to: "/dashboard/login")
        }
        guard token.readsStatistics else { throw APIError.notFound }
        // The week shown: the one asked for, else the latest with steps up to this week.
        let currentWeek = today().isoWeek
        guard let (statistics, week, figures) = try store.loadOverview(choosingWeek: { overview in
            chosenWeek ?? overview.weeks.last(where: { $0.week <= currentWeek })?.week ?? overview.weeks.last?.week ?? currentWeek
        }) else { throw StatisticsAnswer.notBuilt }
        let table = figures?.table ?? StatisticsAnswer.emptyTable(towns: statistics.towns)
        context.audit.returned(rows: 1)
        let html = DashboardPage(statistics: statistics, week: week, table: table).html()
        return DashboardRoutes.htmlResponse(html)
    }

    /// The token behind a request, noted in its audit line: a bearer header, else the session
    /// cookie; nil when neither. A bearer header is checked as on the API (401 when it is not a
    /// valid token).
    func identity(_ request: Request, context: HubRequestContext) async throws -> TokenInfo? {
        if request.headers[.authorization] != nil {
            return try await TokenAuthenticator(ledger: ledger, now: now).authenticate(request: request, context: context)
        }
        guard let id = request.cookies[DashboardRoutes.cookieName]?.value, let tokenID = sessions.token(for: id, at: now()) else {
            return nil
        }
        guard let token = try ledger.activeToken(id: tokenID, at: now()) else {
            sessions.end(id)
            return nil
        }
        context.audit.authenticated(token)
        return token
    }

    // MARK: login and logout

    /// `GET /dashboard/login`: the form.
    @Sendable func loginForm(_ request: Request, context: HubRequestContext) async throws -> Response {
        _ = try StrictQuery(request, allowed: [])
        return DashboardRoutes.htmlResponse(DashboardPage.loginPage(message: nil))
    }

    /// `POST /dashboard/login` (form field `token`): a valid stats token starts a session and goes
    /// to the page (303); anything else gets the form again with 401, whatever was wrong with it.
    @Sendable func login(_ request: Request, context: HubRequestContext) async throws -> Response {
        _ = try StrictQuery(request, allowed: [])
        if request.headers[values: .secFetchSite].contains("cross-site") {
            throw HTTPError(.forbidden, message: "a login must come from this hub's own form")
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw HTTPError(.unsupportedMediaType, message: "send the form as application/x-www-form-urlencoded")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maxFormBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: maxFormBytes)
        }
        let form = DashboardRoutes.formFields(String(buffer: body))
        guard let presented = form["token"] else { throw APIError.badField("token", "the stats token, as waterhub token issue --scope stats printed it") }
        guard presented.count <= 200 else { throw APIError.badField("token", "at most 200 characters; a token is about 60") }
        guard let token = try await ledger.authenticate(presented.trimmingCharacters(in: .whitespaces), at: now()),
              token.readsStatistics else {
            var response = DashboardRoutes.htmlResponse(DashboardPage.loginPage(message: "Deze sleutel geeft geen toegang tot de statistieken."))
            response.status = .unauthorized
            return response
        }
        context.audit.authenticated(token)
        let session = sessions.start(tokenID: token.id, at: now())
        var response = DashboardRoutes.redirect(to: "/dashboard")
        response.headers[.setCookie] = "\(DashboardRoutes.cookieName)=\(session); Path=/dashboard; Max-Age=\(Int(DashboardSessions.lifetime)); HttpOnly; Secure; SameSite=Strict"
        return response
    }

    /// `POST /dashboard/logout`: ends the session (if any) and clears the cookie.
    @Sendable func logout(_ request: Request, context: HubRequestContext) async throws -> Response {
        _ = try StrictQuery(request, allowed: [])
        if let id = request.cookies[DashboardRoutes.cookieName]?.value { sessions.end(id) }
        var response = DashboardRoutes.redirect(to: "/dashboard/login")
        response.headers[.setCookie] = "\(DashboardRoutes.cookieName)=; Path=/dashboard; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        return response
    }

    // MARK: answers

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// An HTML answer with the strict policy: no script, no frame, nothing from elsewhere; the one
    /// inline style sheet is allowed by its hash.
    static func htmlResponse(_ html: String) -> Response {
        Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8",
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .referrerPolicy: "no-referrer",
            .cacheControl: "no-store",
            .xFrameOptions: "DENY",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static let contentSecurityPolicy: String = {
        let hash = Data(SHA256.hash(data: Data(DashboardPage.styleSheet.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'sha256-\(hash)'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }()

    /// The fields of an `application/x-www-form-urlencoded` body (the first of a repeated name).
    static func formFields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

/// The dashboard's sessions, in memory only: a random id (256 bits) stands for a token id for
/// eight hours. A restart ends every session (the cell logs in again); the token itself never
/// leaves the login request, and a revoked token ends its sessions at their next request.
public final class DashboardSessions: Sendable {
    /// How long a session lasts, in seconds.
    static let lifetime: TimeInterval = 8 * 3600

    private let sessions = Mutex<[String: (tokenID: String, expires: Date)]>([:])

    public init() {}

    /// Starts a session for a token; returns its id.
    func start(tokenID: String, at date: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > date }
            sessions[id] = (tokenID, date.addingTimeInterval(DashboardSessions.lifetime))
        }
        return id
    }

    /// The token id of a live session.
    func token(for id: String, at date: Date) -> String? {
        sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > date else {
                sessions[id] = nil
                return nil
            }
            return session.tokenID
        }
    }

    /// Ends a session.
    func end(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }
}
