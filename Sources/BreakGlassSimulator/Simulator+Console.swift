import Foundation
import Hummingbird

/// The browser-only emergency admin console: server-rendered pages, an HttpOnly session cookie, a CSRF token in
/// every form, POST forms that redirect (303) to the next screen.
extension Simulator {
    static let cookieName = "bgsim_session"

    /// What every console handler needs: the session, the fault modes in force, a page renderer.
    struct ConsoleCall {
        var session: SimulatorState.ConsoleSession
        let faults: FaultModes
        var layout: ConsoleLayout = .reference

        func page(_ screen: ConsoleScreen) -> ConsolePage {
            ConsolePage(
                screen: screen, drift: faults.drifts(on: screen.rawValue), csrfToken: session.csrfToken,
                signedIn: session.authenticated, layout: layout)
        }
    }

    enum Gate {
        case proceed(ConsoleCall)
        case respond(Response)
    }

    static func sessionCookie(_ id: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.setCookie] = "\(cookieName)=\(id); Path=/console; HttpOnly; SameSite=Strict"
        return headers
    }

    static var clearedCookie: HTTPFields {
        var headers = HTTPFields()
        headers[.setCookie] = "\(cookieName)=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0"
        return headers
    }

    static func toLogin(expired: Bool) -> Response {
        SimulatorResponse.redirect(expired ? "/console/login?expired=1" : "/console/login", headers: clearedCookie)
    }

    static func errorPage(_ call: ConsoleCall?, status: HTTPResponse.Status, code: String, message: String) -> Response
    {
        let page = ConsolePage(
            screen: .error, drift: call?.faults.drifts(on: "error") ?? false,
            csrfToken: call?.session.csrfToken, signedIn: call?.session.authenticated ?? false,
            layout: call?.layout ?? .reference)
        return SimulatorResponse.html(
            page.render(ConsoleViews.error(page, code: code, message: message)), status: status)
    }

    /// Authenticated session (else back to login), CSRF for POSTs, then the fault modes of `screen`:
    /// delay, error page, session expiry.
    func gate(
        _ request: Request, screen: ConsoleScreen?, form: ConsoleForm? = nil, applyScreenFaults: Bool = true
    ) async -> Gate {
        let cookie = request.cookies[Self.cookieName]?.value
        guard let session = await state.session(cookie) else {
            return .respond(Self.toLogin(expired: cookie != nil))
        }
        guard session.authenticated else { return .respond(Self.toLogin(expired: false)) }
        let faults = await state.faults(for: session.flow.tenantID)
        let call = ConsoleCall(session: session, faults: faults, layout: await state.fixtures.console.layout)
        if let form {
            guard let token = form.value("csrf_token"), SimulatorRandom.constantTimeEquals(token, session.csrfToken)
            else {
                logger.info("console form refused: CSRF check failed")
                return .respond(
                    Self.errorPage(
                        call, status: .forbidden, code: "csrf",
                        message: "The form is invalid or has expired (CSRF check failed). Nothing was changed."))
            }
        }
        if let delay = faults.pageDelayMs, delay > 0 {
            try? await Task.sleep(for: .milliseconds(delay))
        }
        if applyScreenFaults, let screen {
            if faults.sessionExpiresAtScreen == screen.rawValue {
                await state.endSession(session.id)
                return .respond(Self.toLogin(expired: true))
            }
            if faults.offsiteRedirectAtScreen == screen.rawValue, let elsewhere = Self.offsite(request) {
                logger.info("console redirects off-site (fault)", metadata: ["breakglass.screen": "\(screen.rawValue)"])
                return .respond(SimulatorResponse.redirect(elsewhere))
            }
            if faults.errorAtScreen == screen.rawValue {
                return .respond(
                    Self.errorPage(
                        call, status: .internalServerError, code: "internal",
                        message: "The console could not complete the request. Try again later."))
            }
        }
        return .proceed(call)
    }

    /// The request's URL on another origin (`localhost` for `127.0.0.1`, same port and path), or nil when the
    /// request already came there.
    static func offsite(_ request: Request) -> String? {
        guard let authority = request.head.authority, authority.hasPrefix("127.0.0.1") else { return nil }
        return "http://" + authority.replacingOccurrences(of: "127.0.0.1", with: "localhost") + request.uri.path
    }

    /// Whether the request came to the off-site origin.
    static func isOffsite(_ request: Request) -> Bool {
        request.head.authority?.hasPrefix("localhost") == true
    }

    static func readForm(_ request: Request) async -> ConsoleForm? {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: 64 * 1024) else { return nil }
        return ConsoleForm(urlEncoded: String(buffer: buffer))
    }

    func addConsoleRoutes(to router: Router<BasicRequestContext>) {
        let console = router.group("console")
        console.get("") { request, _ -> Response in
            let session = await self.state.session(request.cookies[Self.cookieName]?.value)
            return SimulatorResponse.redirect(
                session?.authenticated == true ? ConsoleScreen.tenant.path : ConsoleScreen.login.path)
        }
        addLoginRoutes(to: console)
        addFlowRoutes(to: console)
        addSubmitRoutes(to: console)
        addGrantRoutes(to: console)
    }

    // MARK: - Login

    func addLoginRoutes(to console: RouterGroup<BasicRequestContext>) {
        console.get("login") { request, _ -> Response in
            let existing = await self.state.session(request.cookies[Self.cookieName]?.value)
            if existing?.authenticated == true { return SimulatorResponse.redirect(ConsoleScreen.tenant.path) }
            let faults = await self.state.faults(for: nil)
            if let delay = faults.pageDelayMs, delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
            let session = if let existing { existing } else { await self.state.newSession() }
            if faults.errorAtScreen == ConsoleScreen.login.rawValue {
                return Self.errorPage(
                    ConsoleCall(session: session, faults: faults), status: .internalServerError, code: "internal",
                    message: "The console could not complete the request. Try again later.")
            }
            let page = ConsolePage(
                screen: .login, drift: faults.drifts(on: "login"), csrfToken: session.csrfToken, signedIn: false,
                layout: await self.state.fixtures.console.layout)
            let expired = request.uri.queryParameters.get("expired") == "1"
            return SimulatorResponse.html(
                page.render(ConsoleViews.login(page, expired: expired, error: nil)),
                headers: Self.sessionCookie(session.id))
        }
        console.post("login") { request, _ -> Response in
            guard let form = await Self.readForm(request) else {
                return SimulatorResponse.badRequest("unreadable form")
            }
            guard let session = await self.state.session(request.cookies[Self.cookieName]?.value) else {
                return Self.toLogin(expired: true)
            }
            let faults = await self.state.faults(for: nil)
            if let delay = faults.pageDelayMs, delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
            let call = ConsoleCall(session: session, faults: faults)
            guard let token = form.value("csrf_token"), SimulatorRandom.constantTimeEquals(token, session.csrfToken)
            else {
                self.logger.info("console login refused: CSRF check failed")
                return Self.errorPage(
                    call, status: .forbidden, code: "csrf",
                    message: "The form is invalid or has expired (CSRF check failed). Nothing was changed.")
            }
            guard
                let signedIn = await self.state.login(
                    sessionID: session.id, username: form.value("username") ?? "",
                    password: form.values("password").first ?? "")
            else {
                self.logger.info("console login refused: wrong credentials")
                let page = call.page(.login)
                return SimulatorResponse.html(
                    page.render(ConsoleViews.login(page, expired: false, error: "Invalid username or password.")),
                    status: .unauthorized)
            }
            self.logger.info("console login")
            return SimulatorResponse.redirect(ConsoleScreen.tenant.path, headers: Self.sessionCookie(signedIn.id))
        }
        console.post("logout") { request, _ -> Response in
            guard let form = await Self.readForm(request) else {
                return SimulatorResponse.badRequest("unreadable form")
            }
            switch await self.gate(request, screen: nil, form: form) {
            case .respond(let response): return response
            case .proceed(let call):
                await self.state.endSession(call.session.id)
                return Self.toLogin(expired: false)
            }
        }
    }
}
