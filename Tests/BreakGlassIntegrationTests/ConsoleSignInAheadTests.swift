import BreakGlassConsole
import BreakGlassCore
import BreakGlassEvidence
import BreakGlassSimulator
import Foundation
import Testing

/// Sessions signed in to the console ahead of requests (issue 21.3), in a real headless Chromium against the real
/// simulator: a request that gets one starts at the second screen with the sign-in in its bundle; a session the
/// console ended meanwhile is signed in again before anything of the request is filled.
@Suite(
    "Console sign-in ahead (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleSignInAheadTests {
    /// A second key, on another tenant (the first tenant then has an unexpired session and its banner).
    static func second() -> RestorationRequest {
        ConsoleHarness.request(
            caseID: "CASE-88130", tenantID: "tnt-7b21d0", tenantName: "Globex Industries", incidentID: "INC-5530",
            requestID: "REQ-IT-2")
    }

    /// The live recheck would compare this synthetic second request with the case's fixtures; it is not what these
    /// tests are about.
    static let passing: @Sendable (RestorationRequest) async -> (GateResult, PreSubmitSnapshot?) = { _ in
        (GateResult(stage: .preSubmit, findings: [], evaluatedAt: Date()), nil)
    }

    /// Signs the pool's idle session in ahead, as `SignInAheadService` does.
    static func signInAhead(_ h: ConsoleHarness) async throws -> SignInAhead {
        let session = try #require(await h.driver.pool.takeForSigningIn(), "no idle session to sign in")
        let (signedIn, healthy) = await h.driver.signInAhead(session)
        await h.driver.pool.returnSignedIn(session, signedIn: signedIn, healthy: healthy)
        return try #require(signedIn, "the sign-in ahead failed")
    }

    static func steps(_ outcome: ConsoleOutcome) throws -> [EvidenceRecorder.Step] {
        let bundle = URL(fileURLWithPath: try #require(outcome.evidence).path)
        let text = try String(contentsOf: bundle.appendingPathComponent("steps.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONDecoder().decode(EvidenceRecorder.Step.self, from: Data($0.utf8))
        }
    }

    static func screenshots(_ outcome: ConsoleOutcome) throws -> [String] {
        let bundle = URL(fileURLWithPath: try #require(outcome.evidence).path)
        return try FileManager.default.contentsOfDirectory(
            atPath: bundle.appendingPathComponent("screenshots").path
        ).sorted()
    }

    @Test("a request on a session signed in ahead starts at the second screen; the sign-in is in its bundle")
    func usesTheSignIn() async throws {
        try await ConsoleHarness.run { h in
            #expect(h.driver.canSignInAhead)
            let first = await h.driver.submit(ConsoleHarness.request(), hooks: h.hooks())
            _ = try #require(first.grant, "halted: \(String(describing: first.takeover))")
            let signedIn = try await Self.signInAhead(h)
            #expect(signedIn.screen == "login")
            let logins = await h.sim.state.loginAttempts()

            let outcome = await h.driver.submit(Self.second(), hooks: h.hooks(recheck: Self.passing))
            let grant = try #require(outcome.grant, "halted: \(String(describing: outcome.takeover))")
            #expect(grant.verifiedInIAM)
            // No sign-in during the request: the one done ahead served it.
            #expect(await h.sim.state.loginAttempts() == logins)
            #expect(await h.driver.pool.signedInLeases == 1)
            let steps = try Self.steps(outcome)
            #expect(steps.first?.action == "opened the console", "the bundle starts with the sign-in done ahead")
            #expect(steps.filter { $0.action == "opened the console" }.count == 1)
            #expect(steps.contains { $0.action == "signed in ahead, still signed in after a reload" })
            #expect(steps.map(\.seq) == Array(1...steps.count))
            let shots = try Self.screenshots(outcome)
            #expect(shots.first == "01-login-checked.png")
            #expect(shots.count == 10, "\(shots)")
            let bundle = URL(fileURLWithPath: try #require(outcome.evidence).path)
            let entered = try JSONDecoder().decode(
                [String: String].self, from: Data(contentsOf: bundle.appendingPathComponent("entered-values.json")))
            #expect(entered["password"] == "***")
            #expect(entered["tenant_id"] == "tnt-7b21d0")
            #expect(try h.verifyAll() == 2)
            try h.expectNoCanaries()
        }
    }

    @Test("a session the console ended after the sign-in ahead: signed in again before any field, then granted")
    func endedSessionSignsInAgain() async throws {
        try await ConsoleHarness.run { h in
            let first = await h.driver.submit(ConsoleHarness.request(), hooks: h.hooks())
            _ = try #require(first.grant, "halted: \(String(describing: first.takeover))")
            _ = try await Self.signInAhead(h)
            let logins = await h.sim.state.loginAttempts()
            await h.sim.state.endAllSessions()

            let outcome = await h.driver.submit(Self.second(), hooks: h.hooks(recheck: Self.passing))
            _ = try #require(outcome.grant, "halted: \(String(describing: outcome.takeover))")
            #expect(await h.sim.state.loginAttempts() == logins + 1, "signed in once more, from the start")
            let steps = try Self.steps(outcome)
            let actions = steps.map(\.action)
            let ended = try #require(actions.firstIndex(of: "the sign-in done ahead has ended; signing in again"))
            let firstFill = try #require(actions.firstIndex { $0.hasPrefix("filled tenant_id") })
            #expect(ended < firstFill, "renewed before any field of the request was filled")
            #expect(actions.filter { $0 == "filled username" }.count == 1, "only the new sign-in is this request's")
            #expect(!actions.contains("signed in ahead, still signed in after a reload"))
        }
    }

    @Test("a session signed in ahead past its age is handed out plain: the flow signs in from the start")
    func tooOldIsPlain() async throws {
        try await ConsoleHarness.run(signInAheadMaximumAge: .zero) { h in
            let first = await h.driver.submit(ConsoleHarness.request(), hooks: h.hooks())
            _ = try #require(first.grant, "halted: \(String(describing: first.takeover))")
            _ = try await Self.signInAhead(h)
            let logins = await h.sim.state.loginAttempts()
            let outcome = await h.driver.submit(Self.second(), hooks: h.hooks(recheck: Self.passing))
            _ = try #require(outcome.grant, "halted: \(String(describing: outcome.takeover))")
            #expect(await h.sim.state.loginAttempts() == logins + 1)
            #expect(await h.driver.pool.signedInLeases == 0)
        }
    }
}
