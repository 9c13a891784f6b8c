import BreakGlassCore
import BreakGlassSimulator
import BreakGlassLiveSources
import BreakGlassTestSupport
import Foundation
import Logging
import Synchronization
import Testing

@Suite("LiveSourcesClient")
struct LiveSourcesClientTests {
    static let tenantJSON = #"{"tenant_id":"tnt-1","name":"Acme Corp","status":"active"}"#

    static func client(
        _ baseURL: String, token: String = "tok-scripted", retryWindow: Duration = .seconds(2),
        requestTimeout: Duration = .seconds(3), connectTimeout: Duration = .milliseconds(500),
        logger: Logger = Logger(label: "test")
    ) throws -> LiveSourcesClient {
        try LiveSourcesClient(
            configuration: .init(
                baseURL: baseURL, token: Secret(token), requestTimeout: requestTimeout,
                connectTimeout: connectTimeout,
                retryWindow: retryWindow, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200)),
            logger: logger)
    }

    // MARK: - Against the simulator

    @Test func notFoundForEachSource() async throws {
        try await SourcesWorld().withClient { client, _ in
            #expect(await client.fetchCase(caseID: "CASE-nope") == .notFound)
            #expect(await client.fetchTenant(tenantID: "tnt-nope") == .notFound)
            #expect(await client.fetchIncident(incidentID: "INC-nope") == .notFound)
            #expect(await client.fetchIdentityAssurance(adminID: "adm-7781", ref: "IDV-nope") == .notFound)
            #expect(await client.fetchIAMAdminState(tenantID: "tnt-nope") == .notFound)
            let found = await client.fetchCase(caseID: "CASE-88121")
            #expect(found.value?.approvals.count == 3)
        }
    }

    @Test func theTokenNeverAppearsInLogs() async throws {
        let store = RecordingLogHandler.Store()
        let logger = Logger(label: "test.sources", factory: { _ in RecordingLogHandler(store: store) })
        // Against the simulator: a full gate, and a refused token.
        try await SourcesWorld().withClient(logger: logger) { client, running in
            _ = await client.gate(SourcesWorld().request, policy: GatePolicy())
            let wrong = try Self.client(running.baseURL, token: "tok-wrong-CANARY-41", logger: logger)
            _ = await wrong.gate(SourcesWorld().request, policy: GatePolicy())
            try await wrong.shutdown()
        }
        // Against a failing server: the retry is logged. Two 503s, then the answer: the retries happen whatever the
        // machine's load (a 200 ms window let a loaded CI run give up after its first, slow attempt).
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            calls.withLock {
                $0 += 1
                return $0
            } <= 2 ? .status(503) : .json(Self.tenantJSON)
        }) { baseURL in
            let client = try Self.client(
                baseURL, token: "tok-scripted-CANARY-99", retryWindow: .seconds(60), logger: logger)
            _ = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
        }
        let lines = store.all
        #expect(lines.contains { $0.contains("retrying") }, "the retry path logs, so this test can see a leak")
        #expect(lines.contains { $0.contains("breakglass.source=tenant") })
        for line in lines {
            #expect(!line.contains("CANARY"), "token leaked: \(line)")
            #expect(!line.contains(SourcesWorld.apiToken))
        }
        let configuration = LiveSourcesClient.Configuration(baseURL: "http://x:1", token: Secret("tok-CANARY"))
        #expect(!"\(configuration)".contains("CANARY"))
        #expect(!String(reflecting: configuration).contains("CANARY"))
    }

    // MARK: - Unavailability and the retry window

    @Test func fiveHundredsAreRetriedWithinTheWindow() async throws {
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            let n = calls.withLock {
                $0 += 1
                return $0
            }
            return n <= 2 ? .status(n == 1 ? 503 : 500) : .json(Self.tenantJSON)
        }) { baseURL in
            // A window wide enough for a loaded 2-core CI machine (the third attempt comes ~60 ms after the first).
            let client = try Self.client(baseURL, retryWindow: .seconds(8))
            let answer = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            #expect(answer.value?.name == "Acme Corp")
            #expect(calls.withLock { $0 } == 3)
        }
    }

    @Test func persistentFiveHundredsBecomeUnavailable() async throws {
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            calls.withLock { $0 += 1 }
            return .status(502)
        }) { baseURL in
            // A window wide enough that a loaded machine still gets a second attempt in: the assertion is about
            // retrying, not about speed.
            let client = try Self.client(baseURL, retryWindow: .seconds(3))
            let answer = await client.fetchCase(caseID: "CASE-1")
            try await client.shutdown()
            guard case .unavailable(let detail) = answer else {
                Issue.record("expected unavailable, got \(answer)")
                return
            }
            #expect(detail.contains("HTTP 502"))
            #expect(calls.withLock { $0 } >= 2, "retried before giving up")
        }
    }

    @Test func aHangingSourceTimesOutAndIsRetried() async throws {
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            let n = calls.withLock {
                $0 += 1
                return $0
            }
            if n == 1 { try? await Task.sleep(for: .seconds(10)) }
            return .json(Self.tenantJSON)
        }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .seconds(5), requestTimeout: .milliseconds(500))
            let answer = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            #expect(answer.value?.tenantID == "tnt-1", "\(answer)")
            #expect(calls.withLock { $0 } >= 2, "the hanging first call timed out and was retried")
        }
    }

    @Test func aSourceThatAlwaysHangsIsUnavailableWithinTheWindow() async throws {
        try await ScriptedServer.with({ _, _ in
            try? await Task.sleep(for: .seconds(10))
            return .json(Self.tenantJSON)
        }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .milliseconds(600), requestTimeout: .milliseconds(150))
            let answer = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            guard case .unavailable(let detail) = answer else {
                Issue.record("expected unavailable, got \(answer)")
                return
            }
            #expect(detail.contains("timeout"), "\(detail)")
        }
    }

    /// Issue 15.6: headers at once, then one byte every 300 ms: the body must be under the same per-call deadline,
    /// so the fetch ends within the retry window plus one timeout (it held the gate for 90 s+ before).
    @Test func aSlowDripSourceIsCutByThePerCallDeadline() async throws {
        try await ScriptedServer.with({ _, _ in
            var answer = ScriptedServer.Answer.json(Self.tenantJSON)
            answer.dripInterval = .milliseconds(300)
            return answer
        }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .milliseconds(600), requestTimeout: .milliseconds(400))
            let clock = ContinuousClock()
            let started = clock.now
            let answer = await client.fetchTenant(tenantID: "tnt-1")
            let elapsed = clock.now - started
            try await client.shutdown()
            guard case .unavailable(let detail) = answer else {
                Issue.record("expected unavailable, got \(answer)")
                return
            }
            #expect(detail.contains("timeout"), "\(detail)")
            #expect(elapsed < .seconds(3), "the slow drip held the fetch for \(elapsed)")
        }
    }

    @Test func connectionRefusedIsUnavailable() async throws {
        // Bind a port, then stop listening on it: nothing answers there.
        let baseURL = try await ScriptedServer.with({ _, _ in .status(200) }) { $0 }
        let client = try Self.client(baseURL, retryWindow: .milliseconds(300))
        let answer = await client.fetchIncident(incidentID: "INC-1")
        try await client.shutdown()
        #expect(answer.isUnavailable, "\(answer)")
    }

    @Test(
        "malformed answers are unavailability, not a pass",
        arguments: [
            ScriptedServer.Answer.json(#"{"tenant_id":"tnt-1","name":"Acme Corp","status":"active""#),
            .json(#"{"tenant_id":"tnt-1","name":"Acme Corp","status":"active","status":"active"}"#),
            .json(#"{"tenant_id":"tnt-1","name":"Acme Corp","status":"paused"}"#),
            .json(#"{"tenant_id":"tnt-1","status":"active"}"#),
            .json(#"{"tenant_id":"tnt-2","name":"Acme Corp","status":"active"}"#),
            .json(#"["tnt-1"]"#),
            .json(""),
            ScriptedServer.Answer(status: 200, body: tenantJSON, contentType: "text/html"),
        ])
    func malformedAnswer(_ answer: ScriptedServer.Answer) async throws {
        // Only malformed answers: unavailable once the window is spent.
        try await ScriptedServer.with({ _, _ in answer }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .seconds(2), requestTimeout: .seconds(3))
            let result = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            guard case .unavailable(let detail) = result else {
                Issue.record("expected unavailable, got \(result)")
                return
            }
            #expect(detail.contains("malformed"), "\(detail)")
        }
        // A malformed answer, then a good one: the fetch retried and found it, so a malformed answer is retried like
        // any unavailability. Counted, not timed (a loaded CI run's first attempt outlasted a 2 s window).
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            calls.withLock {
                $0 += 1
                return $0
            } == 1 ? answer : .json(Self.tenantJSON)
        }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .seconds(60), requestTimeout: .seconds(3))
            let result = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            #expect(result.value?.tenantID == "tnt-1", "\(result)")
            #expect(calls.withLock { $0 } == 2)
        }
    }

    @Test func strictTimesAndStatusesInTheCase() async throws {
        let body = """
            {"case_id":"CASE-1","status":"open","tenant_id":"t","incident_id":"i","requester_admin_id":"a",
             "packet":{"id":"p","sha256":"00"},"approved_scopes":[],"approved_duration_minutes":60,
             "approvals":[{"approval_id":"A","role":"r","approver_id":"u","status":"approved",
               "approved_at":"2026-11-25 18:00:00","expires_at":null}]}
            """
        try await ScriptedServer.with({ _, _ in .json(body) }) { baseURL in
            let client = try Self.client(baseURL, retryWindow: .milliseconds(200))
            let result = await client.fetchCase(caseID: "CASE-1")
            try await client.shutdown()
            #expect(result.isUnavailable)
        }
    }

    @Test func refusedTokenIsNotRetried() async throws {
        let calls = Mutex(0)
        try await ScriptedServer.with({ _, _ in
            calls.withLock { $0 += 1 }
            return .status(401)
        }) { baseURL in
            let client = try Self.client(baseURL)
            let answer = await client.fetchTenant(tenantID: "tnt-1")
            try await client.shutdown()
            #expect(answer == .unavailable(detail: "HTTP 401: the source refused the bearer token"))
            #expect(calls.withLock { $0 } == 1)
        }
    }

    @Test func sendsTheBearerTokenAndEncodesPaths() async throws {
        let seen = Mutex<[String]>([])
        try await ScriptedServer.with({ path, authorization in
            seen.withLock { $0.append("\(path) \(authorization ?? "-")") }
            return .status(404)
        }) { baseURL in
            let client = try Self.client(baseURL + "/", token: "tok-abc")
            _ = await client.fetchIdentityAssurance(adminID: "adm-1", ref: "IDV/../x y")
            try await client.shutdown()
        }
        #expect(seen.withLock { $0 } == ["/v1/identity/adm-1/assurance/IDV%2F..%2Fx%20y Bearer tok-abc"])
    }

    /// The five sources of one request are asked at the same time: the server answers only once all five requests
    /// are in flight together, so a sequential client would time out.
    @Test func theFiveSourcesAreFetchedConcurrently() async throws {
        let inFlight = Mutex(0)
        let world = SourcesWorld()
        let resolved = try world.fixtures.resolved(at: Date())
        let encoder = JSONEncoder()
        let bodies: [String: String] = try [
            "/v1/cases/CASE-88121": String(decoding: encoder.encode(resolved.cases[0]), as: UTF8.self),
            "/v1/tenants/tnt-4f9a2c": #"{"tenant_id":"tnt-4f9a2c","name":"Acme Corp","status":"active"}"#,
            "/v1/incidents/INC-5521": #"{"incident_id":"INC-5521","status":"active","tenant_ids":["tnt-4f9a2c"]}"#,
            "/v1/identity/adm-7781/assurance/IDV-9912": String(
                decoding: encoder.encode(resolved.identities[0]), as: UTF8.self),
            "/v1/iam/tenants/tnt-4f9a2c/admin-state": """
            {"active_breakglass_sessions":[],"policy":{"max_duration_minutes":240,
             "required_approval_roles":["incident-command","security","customer-account-authority"]},
             "directory_roles":{"u-ic-12":["incident-command"],"u-sec-3":["security"],"c-ceo-1":["customer-account-authority"]}}
            """,
        ]
        try await ScriptedServer.with({ path, _ in
            inFlight.withLock { $0 += 1 }
            // Generous bounds for a loaded machine (a full parallel unit run once took over 500 ms to connect): a
            // client that fetched one source at a time would still hold its first request here until the deadline.
            let deadline = ContinuousClock.now + .seconds(10)
            while inFlight.withLock({ $0 }) < 5, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
            guard inFlight.withLock({ $0 }) >= 5 else { return .status(503) }
            return bodies[path].map { .json($0) } ?? .status(404)
        }) { baseURL in
            let client = try Self.client(
                baseURL, retryWindow: .seconds(1), requestTimeout: .seconds(12), connectTimeout: .seconds(5))
            let (result, _) = await client.gate(world.request, policy: GatePolicy())
            try await client.shutdown()
            #expect(result.passed, "\(result.findings)")
        }
    }

    // MARK: - Token and configuration

    @Test func tokenFromFileOrEnvironment() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bg-token-\(UUID().uuidString)")
        try Data("tok-from-file\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fromFile = try BearerToken.load(
            file: url.path, environmentVariable: "BG_TOKEN", environment: ["BG_TOKEN": "tok-env"])
        #expect(fromFile.revealed == "tok-from-file")
        let fromEnv = try BearerToken.load(
            file: nil, environmentVariable: "BG_TOKEN", environment: ["BG_TOKEN": "tok-env"])
        #expect(fromEnv.revealed == "tok-env")
        #expect(throws: LiveSourcesError.tokenMissing("environment variable BG_TOKEN is not set")) {
            try BearerToken.load(file: nil, environmentVariable: "BG_TOKEN", environment: [:])
        }
        #expect(throws: LiveSourcesError.self) {
            try BearerToken.load(file: "/nonexistent/token", environmentVariable: nil)
        }
        #expect(throws: LiveSourcesError.self) {
            try BearerToken.load(file: nil, environmentVariable: "T", environment: ["T": "two words"])
        }
        #expect(throws: LiveSourcesError.self) {
            try BearerToken.load(file: nil, environmentVariable: "T", environment: ["T": ""])
        }
        do {
            _ = try BearerToken.load(file: nil, environmentVariable: "T", environment: ["T": "bad token CANARY"])
        } catch {
            #expect(!"\(error)".contains("CANARY"))
            #expect(!error.detail.contains("CANARY"))
        }
    }

    @Test func configurationIsValidated() {
        let token = Secret("tok")
        #expect(throws: LiveSourcesError.self) {
            try LiveSourcesClient(configuration: .init(baseURL: "ftp://x", token: token), logger: Logger(label: "t"))
        }
        #expect(throws: LiveSourcesError.self) {
            try LiveSourcesClient(
                configuration: .init(baseURL: "http://x", token: token, retryWindow: .zero), logger: Logger(label: "t"))
        }
        #expect(throws: LiveSourcesError.self) {
            try LiveSourcesClient(
                configuration: .init(baseURL: "https://x", token: token, caFile: "/nonexistent/ca.pem"),
                logger: Logger(label: "t"))
        }
    }
}
