import BreakGlassConsole
public import BreakGlassCore
import BreakGlassLedger
import Foundation
import Logging

extension RestorationPipeline {
    /// Takes a grant back early (issue 10): drives the console's revoke screen for the key's confirmation id,
    /// checks in IAM admin-state that the session is gone, seals a `revocation` evidence bundle, and records the
    /// revocation in the ledger with the `revoked` event in the same transaction.
    ///
    /// When the console or IAM cannot confirm it, the result is `failed`: the ledger marks it, the event says
    /// `result: failed`, and the bundle holds the takeover record (escalate = true: access may still be active).
    /// A failed revocation may be tried again; a confirmed one is final.
    public func revoke(
        _ key: RestorationKey, by person: String, reason: String
    ) async throws(TakeoverError) -> RevocationOutcome {
        let person = person.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !person.isEmpty else { throw .invalidInput(key, "--by is empty") }
        // Masked once, here: the console's reason field, the ledger, the `revoked` event and the CLI output only
        // ever see the masked text.
        let reason = try maskedFreeText(reason, key: key, option: "--reason")
        let entry = try await row(key)
        guard entry.state == .granted, let confirmationID = entry.confirmationID else {
            throw .wrongState(key, entry.state, expected: .granted)
        }
        guard entry.revocation != .revoked else { throw .alreadyRevoked(key) }
        let request = try originalRequest(entry)
        var log = logger
        log[metadataKey: "breakglass.case_id"] = "\(key.caseID)"
        log[metadataKey: "breakglass.tenant_id"] = "\(key.tenantID)"

        let sources = self.sources
        let revocation = await console.revoke(
            request, confirmationID: confirmationID, reason: reason, revokedBy: person,
            grantVisible: { tenantID, reference in
                await SubmissionHooks.iamShows(sources: sources, tenantID: tenantID, confirmationID: reference)
            })
        let result: RevokedData.Result = revocation.revoked ? .revoked : .failed
        let event = events.revoked(
            key: key, confirmationID: confirmationID, revokedBy: person, reason: reason, result: result,
            attempt: revocation.evidence?.bundleID, time: clock())
        do {
            try await ledger.recordRevocation(
                key, result: revocation.revoked ? .revoked : .failed, by: person, reason: reason,
                events: [OutboxMessage(event, key: key)])
        } catch {
            // The console already acted: say so loudly; the evidence bundle holds what happened.
            log.info(
                "revocation could not be recorded in the ledger",
                metadata: [
                    "breakglass.result": "\(result.rawValue)",
                    "breakglass.bundle_id": "\(revocation.evidence?.bundleID ?? "-")",
                ])
            throw Self.ledgerError(key, error)
        }
        if revocation.evidence == nil {
            log.info(
                "revocation evidence bundle could not be written",
                metadata: [
                    "breakglass.error": "\(revocation.evidenceError?.description ?? "unknown")"
                ])
        }
        log.info("revocation recorded", metadata: ["breakglass.result": "\(result.rawValue)"])
        return RevocationOutcome(
            key: key, confirmationID: confirmationID, result: result, takeover: revocation.takeover,
            evidence: revocation.evidence, clicked: revocation.clicked)
    }
}
