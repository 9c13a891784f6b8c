public import BreakGlassCore
import BreakGlassLedger
import BreakGlassConsole
import Foundation
import Logging
import BreakGlassEvidence

extension RestorationPipeline {
    /// Takes over a key whose owner died mid-run and whose message will never be delivered again (typically a
    /// `takeover resume` command that was killed): the row is in flight with a lapsed lease. The claim is taken
    /// over (epoch + 1) exactly as a worker takes over a redelivered message: a row that was `submitting` is
    /// reconciled against the console's active grants and NEVER submitted again; an earlier one runs the full gate
    /// and console flow from the start. Who asked and why go into a sealed `recovery` bundle first.
    public func recover(
        _ key: RestorationKey, by person: String, note: String
    ) async throws(TakeoverError) -> RecoveryOutcome {
        let person = person.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !person.isEmpty else { throw .invalidInput(key, "--by is empty") }
        let note = try maskedFreeText(note, key: key, option: "--note")
        let entry = try await row(key)
        guard entry.state.isInFlight else { throw .wrongState(key, entry.state, expected: .claimed) }
        if case .live(let owner) = entry.machine.liveness(at: ledger.clock()) { throw .inProgress(key, owner: owner) }
        let request = try originalRequest(entry)
        var log = logger
        log[metadataKey: "breakglass.case_id"] = "\(key.caseID)"
        log[metadataKey: "breakglass.tenant_id"] = "\(key.tenantID)"

        var recorder = EvidenceRecorder(
            caseID: key.caseID, tenantID: key.tenantID, requestID: request.requestID, workerID: configuration.workerID,
            masker: masker)
        recorder.document(
            "recovery.json",
            [
                "requested_by": person, "note": note, "requested_at": Timestamp.format(clock()),
                "previous_owner": entry.owner ?? "", "previous_state": entry.state.rawValue,
                "epoch": String(entry.epoch),
                "plan": entry.state == .submitting
                    ? "reconcile (never resubmit)" : "restart (full gate and console flow)",
            ])
        recorder.step("takeover", action: "recovery of an abandoned claim requested by a person", detail: person)
        let bundle: EvidenceLocation
        do {
            bundle = try evidence.write(recorder.bundle(kind: "recovery", outcome: "requested", reasons: []))
        } catch {
            throw .evidenceFailed(key, error.description)
        }

        let claim: Claim
        do {
            switch try await ledger.claim(key, requestID: entry.requestID, owner: configuration.workerID) {
            case .claimed(let taken): claim = taken
            case .inProgress(let owner, _): throw TakeoverError.inProgress(key, owner: owner)
            case .decided(let decision): throw TakeoverError.wrongState(key, decision.state, expected: .claimed)
            }
        } catch let error as TakeoverError {
            throw error
        } catch {
            throw Self.ledgerError(key, error)
        }
        log[metadataKey: "breakglass.epoch"] = "\(claim.epoch)"
        let recovery = claim.recovery ?? .restart
        log.info(
            "abandoned claim taken over at a person's request",
            metadata: [
                "breakglass.recovery": "\(recovery == .reconcile ? "reconcile" : "restart")"
            ])
        let result: PipelineResult
        do {
            result =
                recovery == .reconcile
                ? try await reconcile(request, claim: claim, logger: log)
                : try await run(request, claim: claim, logger: log)
        } catch {
            // The claim was reclaimed (epoch + 1): not a refusal. The key waits for this claim's lease to lapse.
            log.info(
                "recovered, but the run failed; the key stays in flight until its lease lapses",
                metadata: [
                    "breakglass.error": "\(type(of: error))"
                ])
            throw .recoveredButUnfinished(key, epoch: claim.epoch, cause: Self.ledgerError(key, error))
        }
        recordOutcome(result, logger: log)
        return RecoveryOutcome(
            key: key, previousOwner: entry.owner, recovery: recovery, evidence: bundle, result: result,
            entry: try? await ledger.entry(for: key))
    }
}
