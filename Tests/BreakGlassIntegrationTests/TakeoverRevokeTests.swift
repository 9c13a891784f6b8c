import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import BreakGlassWorker
import Foundation
import Testing

@Suite(
    "Takeover revoke (pipeline + Chromium + simulator + ledger file)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct TakeoverRevokeTests {
    @Test("revoke removes the session in the console and IAM, records it, and puts the `revoked` event in the outbox")
    func revoke() async throws {
        try await TakeoverHarness.run { t in
            #expect(await t.deliver().result == .granted)
            let confirmation = try #require(try t.entry().confirmationID)
            let state = t.console.sim.state
            #expect(
                await state.adminState(tenantID: "tnt-4f9a2c")?.sessions.contains { $0.grantRef == confirmation }
                    == true)

            let outcome = try await t.pipeline.revoke(
                TakeoverHarness.key, by: "sec-lead-1", reason: "incident resolved early")
            #expect(outcome.result == .revoked, "\(String(describing: outcome.takeover))")
            #expect(outcome.confirmationID == confirmation)
            #expect(await t.console.grants(ConsoleHarness.request()).first?.status == "revoked")
            #expect(
                await state.adminState(tenantID: "tnt-4f9a2c")?.sessions.contains { $0.grantRef == confirmation }
                    == false)
            try t.expectVerified(outcome.evidence, kind: "revocation")

            let entry = try t.entry()
            #expect(entry.state == .granted)
            #expect(entry.revocation == .revoked)
            #expect(entry.revokedBy == "sec-lead-1")
            let revoked = try #require(try t.events().last)
            #expect(revoked.type == "breakglass.restoration.revoked")
            #expect(revoked.data["result"] as? String == "revoked")
            #expect(revoked.data["revoked_by"] as? String == "sec-lead-1")
            #expect(revoked.data["confirmation_id"] as? String == confirmation)
            #expect(revoked.data["reason"] as? String == "incident resolved early")

            // A confirmed revocation is final.
            do {
                _ = try await t.pipeline.revoke(TakeoverHarness.key, by: "sec-lead-1", reason: "again")
                Issue.record("revoked twice")
            } catch let error as TakeoverError {
                #expect(error.code == .alreadyRevoked)
            }
            try t.console.expectNoCanaries()
        }
    }

    @Test("a revoke the console cannot confirm is recorded as failed (escalated takeover record), then can succeed")
    func failedThenRevoked() async throws {
        try await TakeoverHarness.run { t in
            #expect(await t.deliver().result == .granted)
            let state = t.console.sim.state
            await state.setGlobalFaults(.init(revokeFailure: .error))
            let failed = try await t.pipeline.revoke(TakeoverHarness.key, by: "sec-lead-1", reason: "customer asked")
            #expect(failed.result == .failed)
            #expect(failed.takeover?.escalate == true)
            #expect(failed.takeover?.reasons == [.consoleError])
            try t.expectVerified(failed.evidence, kind: "revocation")
            #expect(try t.entry().revocation == .failed)
            #expect(await t.console.grants(ConsoleHarness.request()).first?.status == "active")

            await state.clearFaults()
            let revoked = try await t.pipeline.revoke(TakeoverHarness.key, by: "sec-lead-1", reason: "customer asked")
            #expect(revoked.result == .revoked)
            #expect(try t.entry().revocation == .revoked)
            // Both attempts are in the outbox as distinct events: the success is not dropped as a duplicate.
            let results = try t.events().filter { $0.type.hasSuffix(".revoked") }.map { $0.data["result"] as? String }
            #expect(results == ["failed", "revoked"])
            let ids = try t.ledger.events(for: TakeoverHarness.key).filter {
                $0.message.routingKey.hasSuffix(".revoked")
            }
            .map(\.message.eventID)
            #expect(Set(ids).count == 2)
        }
    }

    @Test("only a granted key can be revoked")
    func notGranted() async throws {
        try await TakeoverHarness.run { t in
            _ = await t.console.sim.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            do {
                _ = try await t.pipeline.revoke(TakeoverHarness.key, by: "sec-lead-1", reason: "x")
                Issue.record("revoked a halted key")
            } catch let error as TakeoverError {
                #expect(error.code == .wrongState)
                #expect(error.state == .halted)
            }
        }
    }

    @Test("an e-mail typed in --reason is masked before the console, the ledger and the `revoked` event")
    func reasonIsMasked() async throws {
        try await TakeoverHarness.run { t in
            #expect(await t.deliver().result == .granted)
            let email = "jane.doe@acme.example"
            let outcome = try await t.pipeline.revoke(
                TakeoverHarness.key, by: "sec-lead-1", reason: "asked by \(email)")
            #expect(outcome.result == .revoked)
            let revoked = try #require(try t.events().last)
            let reason = try #require(revoked.data["reason"] as? String)
            #expect(reason.hasPrefix("asked by ") && !reason.contains(email), "\(reason)")
            let dump = try t.sqlite(".dump")
            #expect(dump.contains("asked by "))
            #expect(!dump.contains(email))
            #expect(
                try t.sqlite("SELECT revoke_reason FROM restorations").trimmingCharacters(in: .whitespacesAndNewlines)
                    == reason)
            #expect(
                await t.console.sim.state.grants(tenantID: nil, externalReference: TakeoverHarness.key.description)
                    .first?.revokeReason == reason)
        }
    }
}
