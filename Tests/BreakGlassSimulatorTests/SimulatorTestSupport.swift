import AsyncHTTPClient
import BreakGlassSimulator
import Foundation
import NIOCore
import NIOHTTP1

/// Starts simulators on port 0 with the sample fixtures and talks to them over real HTTP.
enum SimulatorTestSupport {
    static let apiToken = "test-api-token-0123456789"
    static let controlToken = "test-control-token-9876543210"

    /// `config/simulator.fixtures.yaml` of this repository.
    static var sampleFixturesURL: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/simulator.fixtures.yaml")
    }

    static func withSimulator<R>(_ body: (RunningSimulator) async throws -> R) async throws -> R {
        let fixtures = try SimulatorFixtures.load(contentsOf: sampleFixturesURL)
        let simulator = try Simulator(
            configuration: .init(apiToken: apiToken, controlToken: controlToken), fixtures: fixtures)
        return try await simulator.withRunning(body)
    }

    /// A client that does not follow redirects (the console tests look at each 303 and its cookie).
    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow))

    struct Answer {
        let status: Int
        let headers: HTTPHeaders
        let body: Data

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
        var location: String? { headers.first(name: "Location") }
        /// The `data-screen` marker of an HTML page.
        var screen: String? { firstMatch(#"data-screen="([^"]+)""#) }

        func firstMatch(_ pattern: String) -> String? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: 1), in: text)
            else { return nil }
            return String(text[range])
        }
    }

    static func request(
        _ method: HTTPMethod, _ url: String, token: String? = nil, json: String? = nil,
        form: String? = nil, cookie: String? = nil
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let cookie { request.headers.add(name: "Cookie", value: cookie) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4 << 20)
        return Answer(status: Int(response.status.code), headers: response.headers, body: Data(body.readableBytesView))
    }
}

/// Walks the console over plain HTTP (cookie kept, CSRF token taken from the last page, redirects shown).
final class ConsoleHTTPWalker {
    let baseURL: String
    var cookie: String?
    var csrf: String?
    var last: SimulatorTestSupport.Answer?

    init(baseURL: String) { self.baseURL = baseURL }

    @discardableResult
    func get(_ path: String) async throws -> SimulatorTestSupport.Answer {
        let answer = try await SimulatorTestSupport.request(.GET, baseURL + path, cookie: cookie)
        remember(answer)
        return answer
    }

    @discardableResult
    func post(
        _ path: String, _ fields: [(String, String)], csrf override: String? = nil, withCSRF: Bool = true
    ) async throws -> SimulatorTestSupport.Answer {
        var all = fields
        if withCSRF { all.append(("csrf_token", override ?? csrf ?? "")) }
        let body = all.map { "\($0.0.formEncoded)=\($0.1.formEncoded)" }.joined(separator: "&")
        let answer = try await SimulatorTestSupport.request(.POST, baseURL + path, form: body, cookie: cookie)
        remember(answer)
        return answer
    }

    /// POSTs, then GETs the redirect target (if any) and returns that page.
    @discardableResult
    func postFollow(_ path: String, _ fields: [(String, String)]) async throws -> SimulatorTestSupport.Answer {
        let answer = try await post(path, fields)
        guard answer.status == 303, let location = answer.location else { return answer }
        return try await get(location)
    }

    private func remember(_ answer: SimulatorTestSupport.Answer) {
        if let setCookie = answer.headers.first(name: "Set-Cookie"), let pair = setCookie.split(separator: ";").first {
            cookie = pair.hasSuffix("=") ? nil : String(pair)
        }
        if let token = answer.firstMatch(#"name="csrf_token" value="([0-9a-f]+)""#) { csrf = token }
        last = answer
    }

    @discardableResult
    func login(
        username: String = "svc-breakglass", password: String = "sample-console-password"
    ) async throws -> SimulatorTestSupport.Answer {
        try await get("/console/login")
        return try await postFollow("/console/login", [("username", username), ("password", password)])
    }

    /// From a signed-in session, fills every screen up to the acknowledgement page.
    @discardableResult
    func fill(
        tenant: String, reference: String, incident: String, scopes: [String], minutes: Int,
        approvals: String = "APR-1, APR-2, APR-3", packet: String = "PKT-77",
        sha: String = String(repeating: "ab", count: 32)
    ) async throws -> SimulatorTestSupport.Answer {
        try await get("/console/tenant?new=1")
        try await postFollow(
            "/console/tenant", [("tenant_id", tenant), ("external_reference", reference), ("action", "next")])
        try await postFollow("/console/tenant/verify", [("action", "next")])
        try await postFollow("/console/incident", [("incident_id", incident), ("action", "next")])
        try await postFollow("/console/incident/verify", [("action", "next")])
        try await postFollow("/console/scope", scopes.map { ("scope", $0) } + [("action", "next")])
        try await postFollow("/console/expiration", [("duration_minutes", String(minutes)), ("action", "next")])
        return try await postFollow(
            "/console/approvals",
            [
                ("approval_references", approvals), ("packet_id", packet),
                ("packet_sha256", sha), ("action", "next"),
            ])
    }
}

extension String {
    var formEncoded: String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return addingPercentEncoding(withAllowedCharacters: allowed) ?? self
    }
}
