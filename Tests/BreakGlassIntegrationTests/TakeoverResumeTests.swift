import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import BreakGlassWorker
import Foundation
import Testing

@Suite(
    "Takeover resume (pipeline + Chromium + simulator + ledger file)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct TakeoverResumeTests {
    @Test("a gate halt on a revoked approval, resumed once the approval is renewed, ends in exactly one grant")
    func resumeAfterRenewedApproval() async throws {
        try await TakeoverHarness.run { t in
            let state = t.console.sim.state
            #expect(await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke) != nil)
            let halted = await t.deliver()
            #expect(halted.result == .halted)
            #expect(halted.reasons.contains(.approvalRevoked))
            #expect(await t.grantCount() == 0)

            // Not yet fixed: a resume now would halt again; renew first (the person's fix).
            #expect(await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .renew) != nil)
            let outcome = try await t.pipeline.resume(
                TakeoverHarness.key, by: "sec-lead-1", note: "APR-2 renewed by security")
            #expect(outcome.result.result == .granted, "\(outcome.result.reasons)")
            #expect(outcome.takeoverID == "CASE-88121/tnt-4f9a2c#1")
            #expect(await t.grantCount() == 1)
            let grants = await t.console.grants(ConsoleHarness.request())
            #expect(grants.first?.scopes == ["admins.restore", "users.reset-mfa"])

            let entry = try t.entry()
            #expect(entry.state == .granted)
            #expect(entry.resumeCount == 1)
            #expect(entry.confirmationID == grants.first?.confirmationID)
            let takeover = try #require(try t.ledger.takeover(id: outcome.takeoverID))
            #expect(takeover.resolution == .resumed)
            #expect(takeover.resolvedBy == "sec-lead-1")
            #expect(takeover.note == "APR-2 renewed by security")

            // Events in order: the halt, the resume, then the run's own outcome.
            #expect(try t.eventTypes() == ["halted", "evidence-ready", "resumed", "outcome", "evidence-ready"])
            let resumed = try #require(try t.events().first { $0.type.hasSuffix(".resumed") }?.data)
            #expect(resumed["resumed_by"] as? String == "sec-lead-1")
            #expect(resumed["takeover_id"] as? String == outcome.takeoverID)
            #expect(resumed["note"] as? String == "APR-2 renewed by security")
            try t.expectVerified(outcome.resumeEvidence, kind: "resume")

            // Decided for good: a second resume is refused and grants nothing.
            await #expect(throws: TakeoverError.self) {
                try await t.pipeline.resume(TakeoverHarness.key, by: "sec-lead-1", note: "again")
            }
            #expect(await t.grantCount() == 1)
            try t.console.expectNoCanaries()
        }
    }

    @Test("a console halt is resumed from its saved draft with exactly the approved scopes, once")
    func resumeFromDraft() async throws {
        try await TakeoverHarness.run { t in
            // (A scope drift saves no draft, issue 19.1: a missing expiry control does.)
            await t.console.sim.state.setGlobalFaults(.init(expirationControlMissing: true))
            let halted = await t.deliver()
            #expect(halted.reasons == [.consoleExpiryControlMissing])
            let draft = try #require(try t.ledger.takeovers(for: TakeoverHarness.key).first?.record.draftID)
            await t.console.sim.state.clearFaults()
            let outcome = try await t.pipeline.resume(
                TakeoverHarness.key, by: "support-lead-2", note: "console scope default fixed")
            #expect(outcome.result.result == .granted, "\(outcome.result.reasons)")
            #expect(await t.grantCount() == 1)
            #expect(
                await t.console.grants(ConsoleHarness.request()).first?.scopes == ["admins.restore", "users.reset-mfa"])
            let resumeJSON = try String(
                contentsOf: URL(fileURLWithPath: outcome.resumeEvidence.path).appendingPathComponent("resume.json"),
                encoding: .utf8)
            #expect(resumeJSON.contains(draft))
        }
    }

    @Test("an escalated halt is not resumed without reconciliation; with it, a grant in the console refuses the resume")
    func escalatedHaltRefused() async throws {
        try await TakeoverHarness.run { t in
            await t.console.sim.state.setGlobalFaults(.init(ambiguousConfirmation: true))
            let halted = await t.deliver()
            #expect(halted.result == .halted)
            let before = try t.entry()
            #expect(before.escalate)
            #expect(await t.grantCount() == 1)  // the console did grant; the worker could not confirm it
            await t.console.sim.state.clearFaults()

            do {
                _ = try await t.pipeline.resume(TakeoverHarness.key, by: "sec-lead-1", note: "looks fine")
                Issue.record("an escalated halt was resumed without reconciliation")
            } catch let error as TakeoverError {
                #expect(error.code == .escalated)
            }
            do {
                _ = try await t.pipeline.resume(
                    TakeoverHarness.key, by: "sec-lead-1", note: "looks fine", afterReconciliation: true)
                Issue.record("resumed although the console shows a grant")
            } catch let error as TakeoverError {
                #expect(error.code == .grantExists)
                #expect(error.confirmationIDs.count == 1)
                #expect(error.evidencePath != nil)
            }
            // Nothing changed: still halted, not resumed, no `resumed` event, still one grant.
            let after = try t.entry()
            #expect(after.state == .halted)
            #expect(after.resumeCount == 0)
            #expect(after.epoch == before.epoch)
            #expect(!(try t.eventTypes()).contains("resumed"))
            #expect(await t.grantCount() == 1)
        }
    }

    @Test("an escalated halt whose key the console shows no grant for is resumed after reconciliation: one grant")
    func escalatedHaltResumedAfterReconciliation() async throws {
        try await TakeoverHarness.run { t in
            // A worker that died after `submitting` left an escalated halt, but the console never granted.
            let (body, _) = WorkerProcessTests.signedRequest(signer: t.signer, requestID: "REQ-TK-ESC")
            let key = TakeoverHarness.key
            let claimed = try await t.ledger.claim(
                key, requestID: "REQ-TK-ESC", owner: "worker-dead", payload: Data(body))
            let claim = try #require(claimed.claim)
            let gated = try await t.ledger.passGate(
                claim, approvalRefs: ["APR-1", "APR-2", "APR-3"], checkedAt: Date())
            let submitting = try await t.ledger.beginSubmitting(gated, recheckedAt: Date())
            try await t.ledger.decide(
                submitting,
                .halted(
                    TakeoverRecord(
                        reasons: [.inDoubtUnresolved], stage: .recovery, escalate: true, screen: "active-grants",
                        approvalRefs: ["APR-1", "APR-2", "APR-3"],
                        note: "no grant listed; whether access was granted is unknown")))

            let outcome = try await t.pipeline.resume(
                key, by: "sec-lead-1", note: "console and IAM checked: nothing granted",
                afterReconciliation: true)
            #expect(outcome.result.result == .granted, "\(outcome.result.reasons)")
            try t.expectVerified(outcome.grantCheckEvidence, kind: "grant-check")
            #expect(await t.grantCount() == 1)
            #expect(try t.entry().state == .granted)
        }
    }

    @Test("resumes are limited: after the configured number the ledger's halt stays open")
    func resumeLimit() async throws {
        try await TakeoverHarness.run(maximumResumes: 1) { t in
            let state = t.console.sim.state
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            // Resumed without fixing the cause: it halts again (a new takeover record, #2).
            let again = try await t.pipeline.resume(TakeoverHarness.key, by: "sec-lead-1", note: "retry")
            #expect(again.result.result == .halted)
            #expect(try t.entry().takeoverID == "CASE-88121/tnt-4f9a2c#2")
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .renew)
            do {
                _ = try await t.pipeline.resume(TakeoverHarness.key, by: "sec-lead-1", note: "renewed now")
                Issue.record("resumed beyond ledger.max_resumes")
            } catch let error as TakeoverError {
                #expect(error.code == .resumeLimit)
            }
            #expect(try t.entry().state == .halted)
            #expect(await t.grantCount() == 0)
        }
    }

    @Test(
        "a grant revoked in the console still refuses an escalated halt's resume after reconciliation (granted once, ever)"
    )
    func revokedGrantRefusesResume() async throws {
        try await TakeoverHarness.run { t in
            await t.console.sim.state.setGlobalFaults(.init(ambiguousConfirmation: true))
            #expect(await t.deliver().result == .halted)
            #expect(try t.entry().escalate)
            await t.console.sim.state.clearFaults()
            // Someone revokes the grant in the console (the real revoke screen, through Chromium).
            let request = ConsoleHarness.request()
            let confirmation = try #require(await t.console.grants(request).first?.confirmationID)
            let sources = t.console.sources
            let revocation = await t.console.driver.revoke(
                request, confirmationID: confirmation, reason: "taken back by hand", revokedBy: "sec-lead-1",
                grantVisible: { tenantID, reference in
                    await SubmissionHooks.iamShows(sources: sources, tenantID: tenantID, confirmationID: reference)
                })
            #expect(revocation.revoked)
            #expect(await t.console.grants(request).first?.status == "revoked")

            do {
                _ = try await t.pipeline.resume(
                    TakeoverHarness.key, by: "sec-lead-1", note: "nothing active any more",
                    afterReconciliation: true)
                Issue.record("resumed although the console lists a (revoked) grant for the key")
            } catch let error as TakeoverError {
                #expect(error.code == .grantExists)
                #expect(error.confirmationIDs == [confirmation])
            }
            #expect(try t.entry().state == .halted)
            #expect(try t.entry().resumeCount == 0)
            #expect(!(try t.eventTypes()).contains("resumed"))
            #expect(await t.grantCount() == 1)
            #expect(
                await t.console.sim.state.submitCounts().first {
                    $0.externalReference == TakeoverHarness.key.description
                }?.count == 1)
        }
    }

    @Test("an e-mail or token typed in --note is masked before the ledger, the `resumed` event and the evidence")
    func noteIsMasked() async throws {
        try await TakeoverHarness.run { t in
            let state = t.console.sim.state
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .renew)
            let email = "jane.doe@acme.example"
            let token = "ghp_Q2x9LmN4pR7sT1vW3yZ5bC8dF0gH6jK2"
            let outcome = try await t.pipeline.resume(
                TakeoverHarness.key, by: "sec-lead-1",
                note: "APR-2 renewed after a call with \(email), ref \(token)")
            #expect(outcome.result.result == .granted)
            let takeover = try #require(try t.ledger.takeover(id: outcome.takeoverID))
            let note = try #require(takeover.note)
            #expect(note.hasPrefix("APR-2 renewed after a call with "))
            #expect(!note.contains(email) && !note.contains(token), "\(note)")
            let resumed = try #require(try t.events().first { $0.type.hasSuffix(".resumed") }?.data)
            #expect(resumed["note"] as? String == note)
            // Nowhere in the ledger file (every table, outbox included), nor in the resume bundle.
            let dump = try t.sqlite(".dump")
            #expect(dump.contains("APR-2 renewed after a call with"))
            #expect(!dump.contains(email) && !dump.contains(token))
            let resumeJSON = try String(
                contentsOf: URL(fileURLWithPath: outcome.resumeEvidence.path).appendingPathComponent("resume.json"),
                encoding: .utf8)
            #expect(!resumeJSON.contains(email) && !resumeJSON.contains(token))
        }
    }

    @Test("a run that fails after the resume committed is not a refusal: resumed-but-unfinished with the claim's epoch")
    func resumedButUnfinished() async throws {
        try await TakeoverHarness.run { t in
            _ = await t.console.sim.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            let before = try t.entry()
            // The run after the resume halts at the gate again (the approval is still revoked); its decision fails.
            try t.failDecisionsAfterResume()
            do {
                _ = try await t.pipeline.resume(TakeoverHarness.key, by: "sec-lead-1", note: "retry")
                Issue.record("the run's decision should have failed")
            } catch let error as TakeoverError {
                #expect(error.code == .resumedButUnfinished)
                #expect(error.code.leftInFlight)
                let after = try t.entry()
                #expect(error.epoch == after.epoch)
                #expect(after.epoch > before.epoch)
                #expect(after.state.isInFlight)
                #expect(after.resumeCount == 1)
                #expect(error.description == "takeover action started but not finished (resumed-but-unfinished)")
            }
            #expect(try t.eventTypes() == ["halted", "evidence-ready", "resumed"])
            #expect(try t.ledger.takeover(id: "CASE-88121/tnt-4f9a2c#1")?.resolution == .resumed)
        }
    }
}
