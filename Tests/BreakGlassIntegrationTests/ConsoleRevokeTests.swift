import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import Foundation
import Testing
import BreakGlassEvidence

@Suite(
    "Console revoke (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleRevokeTests {
    @Test("revoke ends the grant in the console and in IAM, with a revocation bundle")
    func revoke() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let id = try #require(await h.driver.submit(request, hooks: h.hooks()).grant?.confirmationID)
            let sources = h.sources
            let result = await h.driver.revoke(
                request, confirmationID: id, reason: "incident resolved", revokedBy: "sec-lead-1",
                grantVisible: { t, r in await SubmissionHooks.iamShows(sources: sources, tenantID: t, confirmationID: r)
                })
            #expect(result.revoked, "\(String(describing: result.takeover))")
            #expect(result.clicked)
            #expect(await h.grants(request).first?.status == "revoked")
            let location = try #require(result.evidence)
            let verification = EvidenceVerifier(trustedPublicKey: h.key.publicKeyRaw).verify(
                bundle: URL(fileURLWithPath: location.path))
            #expect(verification.isValid)
            #expect(verification.manifest?.kind == "revocation")
            try h.expectNoCanaries()
        }
    }

    @Test("a revoke that says revoked but leaves the IAM session: failed, escalated")
    func silentFailure() async throws {
        try await ConsoleHarness.run(verificationWindow: .milliseconds(600)) { h in
            let request = ConsoleHarness.request()
            let id = try #require(await h.driver.submit(request, hooks: h.hooks()).grant?.confirmationID)
            await h.sim.state.setGlobalFaults(.init(revokeFailure: .silent))
            let sources = h.sources
            let result = await h.driver.revoke(
                request, confirmationID: id, reason: "incident resolved", revokedBy: "sec-lead-1",
                grantVisible: { t, r in await SubmissionHooks.iamShows(sources: sources, tenantID: t, confirmationID: r)
                })
            #expect(!result.revoked)
            #expect(result.takeover?.reasons == [.grantUnverified])
            #expect(result.takeover?.escalate == true)
        }
    }

    @Test("a revoke error page: failed, escalated, the grant stays")
    func errorPage() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let id = try #require(await h.driver.submit(request, hooks: h.hooks()).grant?.confirmationID)
            await h.sim.state.setGlobalFaults(.init(revokeFailure: .error))
            let sources = h.sources
            let result = await h.driver.revoke(
                request, confirmationID: id, reason: "incident resolved", revokedBy: "sec-lead-1",
                grantVisible: { t, r in await SubmissionHooks.iamShows(sources: sources, tenantID: t, confirmationID: r)
                })
            #expect(!result.revoked)
            #expect(result.takeover?.reasons == [.consoleError])
            #expect(await h.grants(request).first?.status == "active")
        }
    }
}

@Suite(
    "Console resume from a draft (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleResumeTests {
    @Test(
        "a missing expiry control halt saves a draft; once fixed, resuming from it grants exactly the approved scopes, once"
    )
    func resumeFromDraft() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(expirationControlMissing: true))
            let request = ConsoleHarness.request()
            let halted = await h.driver.submit(request, hooks: h.hooks())
            let draft = try #require(halted.takeover?.draftID)
            await h.sim.state.clearFaults()
            let resumed = await h.driver.submit(request, hooks: h.hooks(), resumeDraftID: draft)
            let grant = try #require(resumed.grant, "\(String(describing: resumed.takeover))")
            let made = await h.grants(request)
            #expect(made.map(\.confirmationID) == [grant.confirmationID])
            #expect(made.first?.scopes == ["admins.restore", "users.reset-mfa"])
            let steps = try String(
                contentsOf: URL(fileURLWithPath: try #require(resumed.evidence).path).appendingPathComponent(
                    "steps.jsonl"),
                encoding: .utf8)
            #expect(steps.contains("draft reopened"))
        }
    }

    /// Issue 19.1: a draft would keep the console's broader selection for whoever resumes it.
    @Test(
        "a scope-drift halt saves no draft; once the console is fixed, a resume runs a fresh flow with the approved scopes"
    )
    func scopeDriftSavesNoDraft() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(broaderScopePrechecked: true))
            let request = ConsoleHarness.request()
            let halted = await h.driver.submit(request, hooks: h.hooks())
            #expect(halted.takeover?.reasons == [.consoleScopeDrift])
            #expect(halted.takeover?.draftID == nil)
            await h.sim.state.clearFaults()
            let resumed = await h.driver.submit(request, hooks: h.hooks(), resumeDraftID: nil)
            #expect(resumed.grant != nil, "\(String(describing: resumed.takeover))")
            #expect(await h.grants(request).first?.scopes == ["admins.restore", "users.reset-mfa"])
        }
    }

    @Test("an unknown draft falls back to a fresh flow")
    func unknownDraft() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks(), resumeDraftID: "DRAFT-NOPE0000")
            #expect(outcome.grant != nil, "\(String(describing: outcome.takeover))")
            #expect(await h.grantCount(request) == 1)
        }
    }
}
