import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import Foundation
import Testing
import BreakGlassEvidence

/// The console driver in a real headless Chromium against the real simulator: grants, every fault mode, the
/// pre-submit recheck, post-click ambiguity and reconciliation, canaries, tampering.
@Suite(
    "Console driver (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleDriverTests {
    @Test("a full grant: confirmed, seen in IAM, one grant, sealed evidence without canaries")
    func fullGrant() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let grant = try #require(outcome.grant, "halted: \(String(describing: outcome.takeover))")
            #expect(grant.confirmationID.hasPrefix("BG-"))
            #expect(grant.verifiedInIAM)
            #expect(!grant.byReconciliation)
            #expect(outcome.clicked)
            #expect(outcome.recheckToClick != nil)
            #expect(await h.beforeSubmitCalls.value == 1)
            let grants = await h.grants(request)
            #expect(grants.map(\.confirmationID) == [grant.confirmationID])
            #expect(grants.first?.scopes == ["admins.restore", "users.reset-mfa"])
            #expect(grants.first?.durationMinutes == 120)
            let location = try #require(outcome.evidence)
            #expect(location.artifactCount >= 12)
            let bundle = URL(fileURLWithPath: location.path)
            let files = try FileManager.default.subpathsOfDirectory(atPath: bundle.path)
            for expected in [
                "steps.jsonl", "timing.json", "entered-values.json", "confirmation.json", "recheck.json",
                "request.json", "summary.json", "grant.json",
            ] {
                #expect(files.contains(expected), "missing \(expected)")
            }
            #expect(files.filter { $0.hasSuffix(".png") }.count >= 10)
            let timing = try JSONDecoder().decode(
                [String: String].self, from: Data(contentsOf: bundle.appendingPathComponent("timing.json")))
            #expect(timing["recheck_to_click_ms"] != nil)
            let entered = try JSONDecoder().decode(
                [String: String].self, from: Data(contentsOf: bundle.appendingPathComponent("entered-values.json")))
            #expect(entered["password"] == "***")
            #expect(entered["tenant_id"] == "tnt-4f9a2c")
            #expect(try h.verifyAll() == 1)
            try h.expectNoCanaries()
        }
    }

    @Test("a second submission for the same key after a grant stops at the existing session: no click, still one grant")
    func secondSubmissionSameKey() async throws {
        try await ConsoleHarness.run { h in
            let first = await h.driver.submit(ConsoleHarness.request(), hooks: h.hooks())
            _ = try #require(first.grant)
            let again = await h.driver.submit(ConsoleHarness.request(requestID: "REQ-IT-REPLAY"), hooks: h.hooks())
            let record = try #require(again.takeover)
            #expect(record.reasons == [.consoleExistingSession])
            #expect(!again.clicked)
            #expect(record.draftID != nil)
            #expect(await h.beforeSubmitCalls.value == 1)
            #expect(await h.grantCount(ConsoleHarness.request()) == 1)
        }
    }

    struct PreClickFault: Sendable, CustomTestStringConvertible {
        let name: String
        let faults: FaultModes
        let reason: ReasonCode
        let draft: Bool
        var testDescription: String { name }
    }

    static let preClickFaults: [PreClickFault] = [
        .init(
            name: "id drift everywhere", faults: .init(idDrift: ["*"]), reason: .consoleUnexpectedScreen, draft: false),
        .init(
            name: "id drift on the tenant screen", faults: .init(idDrift: ["tenant"]), reason: .consoleUnexpectedScreen,
            draft: false),
        // A scope drift saves no draft (issue 19.1: it would keep the broader selection for whoever resumes).
        .init(
            name: "broader scope pre-checked", faults: .init(broaderScopePrechecked: true), reason: .consoleScopeDrift,
            draft: false),
        .init(
            name: "expiration control missing", faults: .init(expirationControlMissing: true),
            reason: .consoleExpiryControlMissing, draft: true),
        .init(
            name: "existing-session banner", faults: .init(existingSessionBanner: true),
            reason: .consoleExistingSession, draft: true),
        .init(
            name: "wrong tenant after lookup", faults: .init(wrongTenantAfterLookup: true),
            reason: .consoleTenantMismatch, draft: true),
        // Issue 16.8: the right tenant first, then a stale row with the same id naming another: every match counts.
        .init(
            name: "a second, stale tenant row", faults: .init(shadowTenantRow: true), reason: .consoleTenantMismatch,
            draft: true),
        .init(
            name: "error page at the incident screen", faults: .init(errorAtScreen: "incident"), reason: .consoleError,
            draft: false),
        .init(
            name: "session expires at the scope screen", faults: .init(sessionExpiresAtScreen: "scope"),
            reason: .consoleUnexpectedScreen, draft: false),
        .init(
            name: "slow pages beyond the page-load bound", faults: .init(pageDelayMs: 3_000), reason: .consoleTimeout,
            draft: false),
    ]

    @Test(
        "each pre-click fault halts with its code, a takeover record, no click and no grant", arguments: preClickFaults)
    func preClickFault(_ fault: PreClickFault) async throws {
        try await ConsoleHarness.run(pageLoad: .seconds(2)) { h in
            await h.sim.state.setGlobalFaults(fault.faults)
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover, "expected a halt, got \(String(describing: outcome.grant))")
            #expect(record.reasons == [fault.reason])
            #expect(!record.escalate)
            #expect(!outcome.clicked)
            #expect(record.stage == .console)
            #expect(record.approvalRefs == ["APR-1", "APR-2", "APR-3"])
            #expect(record.screen != nil)
            #expect(record.lastScreenshotPath != nil || fault.reason == .consoleTimeout)
            #expect((record.draftID != nil) == fault.draft, "draft \(String(describing: record.draftID))")
            #expect(record.enteredValues["password"] == nil || record.enteredValues["password"] == "***")
            #expect(await h.beforeSubmitCalls.value == 0)
            await h.sim.state.clearFaults()
            #expect(await h.grantCount(request) == 0)
            #expect(try h.verifyAll() == 1)
            try h.expectNoCanaries()
        }
    }

    @Test("an approval revoked right before submit: pre-submit halt with the gate's code, draft saved, nothing clicked")
    func preSubmitRecheck() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let state = h.sim.state
            let sources = h.sources
            let outcome = await h.driver.submit(
                request,
                hooks: h.hooks(recheck: { request in
                    _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
                    let (result, snapshot) = await sources.preSubmitRecheck(request, policy: GatePolicy())
                    return (result, snapshot)
                }))
            let record = try #require(outcome.takeover)
            #expect(record.reasons.contains(.approvalRevoked))
            #expect(record.stage == .preSubmit)
            #expect(!record.escalate)
            #expect(record.draftID != nil)
            #expect(!outcome.clicked)
            #expect(await h.beforeSubmitCalls.value == 0)
            #expect(await h.grantCount(request) == 0)
        }
    }

    @Test("beforeSubmit refusing (ledger) stops before the click")
    func beforeSubmitRefused() async throws {
        try await ConsoleHarness.run { h in
            struct Refused: Error {}
            var hooks = h.hooks()
            hooks.beforeSubmit = { throw Refused() }
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: hooks)
            #expect(outcome.beforeSubmitRefused)
            #expect(!outcome.clicked)
            #expect(outcome.takeover?.escalate == false)
            #expect(await h.grantCount(request) == 0)
        }
    }

    @Test("ambiguous confirmation: escalated halt, then reconciliation finds the one grant")
    func ambiguousConfirmation() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(ambiguousConfirmation: true))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.confirmationAmbiguous])
            #expect(record.stage == .postSubmit)
            #expect(record.escalate)
            #expect(outcome.clicked)
            await h.sim.state.clearFaults()
            let made = await h.grants(request)
            #expect(made.count == 1)
            let reconciled = await h.driver.reconcile(request)
            let grant = try #require(reconciled.grant)
            #expect(grant.byReconciliation)
            #expect(grant.confirmationID == made.first?.confirmationID)
            #expect(await h.grantCount(request) == 1)
            #expect(try h.verifyAll() == 2)
        }
    }

    @Test("the confirmation never arrives: escalated timeout, then reconciliation finds the grant")
    func confirmationHang() async throws {
        try await ConsoleHarness.run(pageLoad: .seconds(3)) { h in
            await h.sim.state.setGlobalFaults(.init(confirmationHang: true, confirmationHangMs: 60_000))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.consoleTimeout], "\(record.note ?? "no note")")
            #expect(record.escalate)
            #expect(record.stage == .postSubmit)
            await h.sim.state.releaseHangingRequests()
            await h.sim.state.clearFaults()
            let reconciled = await h.driver.reconcile(request)
            #expect(reconciled.grant?.byReconciliation == true)
            #expect(await h.grantCount(request) == 1)
        }
    }

    @Test("a confirmed grant absent from IAM: GRANT_UNVERIFIED, escalated")
    func grantUnverified() async throws {
        try await ConsoleHarness.run(verificationWindow: .milliseconds(800)) { h in
            await h.sim.state.setGlobalFaults(.init(grantAbsentFromIAM: true))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.grantUnverified])
            #expect(record.escalate)
            #expect(record.note?.contains("BG-") == true)
            #expect(await h.grantCount(request) == 1)
        }
    }

    @Test("an error page after the click: escalated; reconciliation finds nothing: IN_DOUBT_UNRESOLVED")
    func errorAfterClick() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(errorAtScreen: "submit"))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.consoleError])
            #expect(record.escalate)
            await h.sim.state.clearFaults()
            let reconciled = await h.driver.reconcile(request)
            let unresolved = try #require(reconciled.takeover)
            #expect(unresolved.reasons == [.inDoubtUnresolved])
            #expect(unresolved.stage == .recovery)
            #expect(unresolved.escalate)
            #expect(await h.grantCount(request) == 0)
        }
    }

    @Test("a crash between the click and the ledger record: the restarted worker reconciles, never resubmits")
    func crashAfterClick() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            // The first worker clicks and the grant is made; its `granted` record is lost with the process.
            let first = await h.driver.submit(request, hooks: h.hooks())
            let id = try #require(first.grant?.confirmationID)
            // The restarted worker finds the row `submitting` and reconciles instead of submitting.
            let reconciled = await h.driver.reconcile(
                request,
                grantVisible: { tenant, ref in
                    await SubmissionHooks.iamShows(sources: h.sources, tenantID: tenant, confirmationID: ref)
                })
            let grant = try #require(reconciled.grant)
            #expect(grant.confirmationID == id)
            #expect(grant.byReconciliation)
            #expect(grant.verifiedInIAM)
            #expect(!reconciled.clicked)
            #expect(await h.grantCount(request) == 1)
            // One browser session served both flows: reused with a cleaned profile.
            #expect(await h.driver.pool.created == 1)
            #expect(await h.driver.pool.reused == 1)
            let summary = try JSONDecoder().decode(
                [String: String].self,
                from: Data(
                    contentsOf: URL(fileURLWithPath: try #require(reconciled.evidence).path).appendingPathComponent(
                        "summary.json")))
            #expect(summary["outcome"] == "granted-by-reconciliation")
            #expect(try h.verifyAll() == 2)
            try h.expectNoCanaries()
        }
    }

    @Test("tampering with a real bundle is detected")
    func tampering() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(broaderScopePrechecked: true))
            let outcome = await h.driver.submit(ConsoleHarness.request(), hooks: h.hooks())
            let location = try #require(outcome.evidence)
            let bundle = URL(fileURLWithPath: location.path)
            let shot = try #require(
                try FileManager.default.subpathsOfDirectory(atPath: bundle.path).first { $0.hasSuffix(".png") })
            var data = try Data(contentsOf: bundle.appendingPathComponent(shot))
            data[data.count / 2] ^= 0xFF
            try data.write(to: bundle.appendingPathComponent(shot))
            let result = EvidenceVerifier(trustedPublicKey: h.key.publicKeyRaw).verify(bundle: bundle)
            #expect(result.problems.map(\.code) == [.artifactChanged])
            #expect(result.problems.first?.path == shot)
        }
    }
}
