import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import BreakGlassWorker
import Foundation
import Testing

@Suite(
    "Takeover recover (pipeline + Chromium + simulator + ledger file)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct TakeoverRecoverTests {
    /// A row left `submitting` by an owner that died right after the click (the console granted), lease lapsed.
    @Test("a dead owner's submitting row is reconciled, never resubmitted: the grant count stays 1")
    func reconcileAfterDeathAtClick() async throws {
        try await TakeoverHarness.run { t in
            let key = TakeoverHarness.key
            let (body, _) = WorkerProcessTests.signedRequest(signer: t.signer, requestID: "REQ-TK-DEAD")
            let claimed = try await t.ledger.claim(
                key, requestID: "REQ-TK-DEAD", owner: "takeover-dead", payload: Data(body),
                lease: .seconds(4))
            let claim = try #require(claimed.claim)
            let gated = try await t.ledger.passGate(
                claim, approvalRefs: ["APR-1", "APR-2", "APR-3"], checkedAt: Date())
            _ = try await t.ledger.beginSubmitting(gated, recheckedAt: Date())
            // While the owner's lease is live: refused.
            do {
                _ = try await t.pipeline.recover(key, by: "sec-lead-1", note: "resume command was killed")
                Issue.record("took over a live claim")
            } catch let error as TakeoverError {
                #expect(error.code == .inProgress)
            }
            // The click happened: the console made the grant, then the owner died.
            let made = await t.console.driver.submit(
                ConsoleHarness.request(requestID: "REQ-TK-DEAD"), hooks: t.console.hooks())
            #expect(made.grant != nil)
            #expect(await t.grantCount() == 1)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
                    (try? t.ledger.entry(for: key))?.machine.liveness(at: Date()) == .inDoubt
                })
            let outcome = try await t.pipeline.recover(key, by: "sec-lead-1", note: "resume command was killed")
            #expect(outcome.recovery == .reconcile)
            #expect(outcome.previousOwner == "takeover-dead")
            #expect(outcome.result.result == .granted, "\(outcome.result.reasons)")
            #expect(await t.grantCount() == 1)
            let entry = try t.entry()
            #expect(entry.state == .granted)
            #expect(entry.reconciled)
            #expect(entry.confirmationID == made.grant?.confirmationID)
            try t.expectVerified(outcome.evidence, kind: "recovery")
        }
    }

    @Test("a dead owner's row before the click restarts through the gate and console: one grant")
    func restartBeforeClick() async throws {
        try await TakeoverHarness.run { t in
            let key = TakeoverHarness.key
            let (body, _) = WorkerProcessTests.signedRequest(signer: t.signer, requestID: "REQ-TK-DEAD2")
            let claimed = try await t.ledger.claim(
                key, requestID: "REQ-TK-DEAD2", owner: "takeover-dead", payload: Data(body),
                lease: .milliseconds(1))
            _ = try #require(claimed.claim)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
                    (try? t.ledger.entry(for: key))?.machine.liveness(at: Date()) == .abandoned
                })
            let outcome = try await t.pipeline.recover(key, by: "sec-lead-1", note: "worker gone")
            #expect(outcome.recovery == .restart)
            #expect(outcome.result.result == .granted, "\(outcome.result.reasons)")
            #expect(await t.grantCount() == 1)
            // Decided: nothing left to recover.
            do {
                _ = try await t.pipeline.recover(key, by: "sec-lead-1", note: "again")
                Issue.record("recovered a decided key")
            } catch let error as TakeoverError {
                #expect(error.code == .wrongState)
            }
        }
    }

    @Test(
        "a recover whose run fails after the claim was taken over is recovered-but-unfinished (with its epoch), not refused"
    )
    func recoveredButUnfinished() async throws {
        try await TakeoverHarness.run { t in
            let key = TakeoverHarness.key
            _ = await t.console.sim.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            let (body, _) = WorkerProcessTests.signedRequest(signer: t.signer, requestID: "REQ-TK-DEAD3")
            let claimed = try await t.ledger.claim(
                key, requestID: "REQ-TK-DEAD3", owner: "takeover-dead", payload: Data(body),
                lease: .milliseconds(1))
            let dead = try #require(claimed.claim)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
                    (try? t.ledger.entry(for: key))?.machine.liveness(at: Date()) == .abandoned
                })
            // The restarted run halts at the gate (APR-2 revoked); its decision fails in the ledger.
            try t.failDecisionsAfterResume()
            do {
                _ = try await t.pipeline.recover(key, by: "sec-lead-1", note: "worker gone")
                Issue.record("the run's decision should have failed")
            } catch let error as TakeoverError {
                #expect(error.code == .recoveredButUnfinished)
                let entry = try t.entry()
                #expect(entry.state.isInFlight)
                #expect(entry.owner == "takeover-it")
                #expect(error.epoch == entry.epoch)
                #expect(entry.epoch > dead.epoch)
            }
            #expect(await t.grantCount() == 0)
        }
    }
}
