import BreakGlassConsole
public import BreakGlassCore
import BreakGlassLedger
import Foundation
import Logging
import BreakGlassEvidence

/// The human side (issue 10): a person resumes a halted request, or revokes a granted one.
extension RestorationPipeline {
    /// Resumes a halted request after a person addressed its cause, then runs it again under the same key
    /// through the full gate and console flow (from the halt's saved draft when there is one).
    ///
    /// - The request is the ORIGINAL message body the ledger stored for the key: scope, duration and tenant can
    ///   never be broadened by a resume. Its `not_after` still applies (refused once it has passed).
    /// - An escalated halt (access may have been granted) is refused unless `afterReconciliation`; then the
    ///   console's grants listing is read first: a grant for the key in ANY status (active, revoked, expired: a key
    ///   is granted at most once, ever) → refused (`grantExists`; the person closes
    ///   the takeover with `resolve` instead), unreadable → refused (`reconciliationFailed`), none → resumed.
    /// - `note` is masked (`Masker`: e-mails, tokens, secrets) before it is stored anywhere.
    /// - If the run fails after the resume committed (fenced, database error), `resumedButUnfinished` (with the
    ///   claim's epoch) is thrown: not a refusal; the key is in flight until the lease lapses, then
    ///   `takeover recover` finishes it.
    /// - Who and why go into a sealed `resume` evidence bundle (written first: no bundle, no resume), into the
    ///   takeover's resolution, and into the `resumed` event, written to the outbox in the same transaction as the
    ///   resume. The run then ends like any other: `outcome` or `halted`, then `evidence-ready`.
    /// - At most `SQLiteLedger.Configuration.maximumResumes` resumes per key.
    public func resume(
        _ key: RestorationKey, by person: String, note: String, afterReconciliation: Bool = false
    ) async throws(TakeoverError) -> ResumeOutcome {
        let person = person.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !person.isEmpty else { throw .invalidInput(key, "--by is empty") }
        // Free text a person typed may hold an e-mail, a token, a customer's name: it is masked once, here, so the
        // ledger, the `resumed` event, the evidence and the CLI output only ever see the masked text.
        let note = try maskedFreeText(note, key: key, option: "--note")
        let entry = try await halted(key)
        let request = try originalRequest(entry)
        guard clock() < request.notAfter else { throw .requestExpired(key) }
        guard entry.resumeCount < ledger.maximumResumes else {
            throw .resumeLimit(key, resumes: entry.resumeCount)
        }
        let takeover: TakeoverEntry
        do {
            guard let open = try await ledger.takeovers(for: key, openOnly: true, limit: 1).first,
                open.id == entry.takeoverID
            else {
                throw TakeoverError.wrongState(key, entry.state, expected: .halted)
            }
            takeover = open
        } catch let error as TakeoverError {
            throw error
        } catch {
            throw Self.ledgerError(key, error)
        }
        var log = logger
        log[metadataKey: "breakglass.case_id"] = "\(key.caseID)"
        log[metadataKey: "breakglass.tenant_id"] = "\(key.tenantID)"
        log[metadataKey: "breakglass.takeover_id"] = "\(takeover.id)"

        var grantCheck: EvidenceLocation?
        if entry.escalate {
            guard afterReconciliation else { throw .escalated(key) }
            // The waiting rule (issue 15.2): a key taken over while `submitting` (in doubt) is not acted on again until
            // the lease and the confirmation bound have passed since that `submitting` began: the owner that wrote it
            // may be frozen before its click and could still click until then (it refuses once its own lease cannot
            // cover the confirmation). A halt decided by the owner that wrote `submitting` has no such click pending.
            if entry.inDoubt, let submittingAt = entry.submittingAt {
                let settle =
                    Self.seconds(ledger.leaseDuration) + Self.seconds(configuration.confirmationBound)
                let wait = submittingAt.addingTimeInterval(settle).timeIntervalSince(ledger.clock())
                if wait > 0 { throw .tooSoon(key, waitSeconds: Int(wait.rounded(.up))) }
            }
            let check = await console.checkActiveGrants(request)
            grantCheck = check.evidence
            switch check.result {
            case .none:
                log.info("reconciliation: no grant (in any status) for the key; resume allowed")
            case .found(let grants):
                log.info("reconciliation: the console lists a grant for the key; resume refused")
                throw .grantExists(
                    key, confirmationIDs: grants.map(\.confirmationID), evidencePath: check.evidence?.path)
            case .unknown(let reasons, _):
                log.info("reconciliation: the console's active grants could not be read; resume refused")
                throw .reconciliationFailed(key, reasons: reasons, evidencePath: check.evidence?.path)
            }
        }

        // The person's decision, sealed before anything changes.
        let now = clock()
        var recorder = EvidenceRecorder(
            caseID: key.caseID, tenantID: key.tenantID, requestID: request.requestID, workerID: configuration.workerID,
            masker: masker)
        recorder.document(
            "resume.json",
            ResumeRecord(
                takeoverID: takeover.id, resumedBy: person, note: note, resumedAt: Timestamp.format(now),
                resumeNumber: entry.resumeCount + 1, maximumResumes: ledger.maximumResumes,
                escalated: entry.escalate, afterReconciliation: entry.escalate && afterReconciliation,
                grantCheckBundle: grantCheck?.bundleID, draftID: entry.escalate ? nil : takeover.record.draftID,
                requestID: request.requestID, scopes: request.privilege.scopes,
                durationMinutes: request.privilege.durationMinutes))
        recorder.document("takeover.json", takeover.record)
        recorder.step("takeover", action: "resumed by a person", detail: "\(takeover.id) by \(person)")
        let resumeEvidence: EvidenceLocation
        do {
            resumeEvidence = try evidence.write(recorder.bundle(kind: "resume", outcome: "resumed", reasons: []))
        } catch {
            throw .evidenceFailed(key, error.description)
        }

        let resumed = events.resumed(key: key, takeoverID: takeover.id, resumedBy: person, note: note, time: now)
        let claim: Claim
        do {
            claim = try await ledger.resume(
                key, by: person, note: note, owner: configuration.workerID, lease: nil,
                afterReconciliation: entry.escalate && afterReconciliation, events: [OutboxMessage(resumed, key: key)])
        } catch {
            // Refused (another person's resume won the race, the state changed): this bundle documents nothing that
            // happened, so it does not stay beside the real ones (issue 15.9).
            try? FileManager.default.removeItem(atPath: resumeEvidence.path)
            log.notice(
                "resume refused by the ledger; its evidence bundle was removed",
                metadata: [
                    "breakglass.bundle_id": "\(resumeEvidence.bundleID)"
                ])
            throw Self.ledgerError(key, error)
        }
        log[metadataKey: "breakglass.epoch"] = "\(claim.epoch)"
        log.info(
            "takeover resumed; running the request again",
            metadata: ["breakglass.resumes": .stringConvertible(claim.resumeCount)])

        let result: PipelineResult
        do {
            result = try await run(
                request, claim: claim, logger: log, resumeDraftID: entry.escalate ? nil : takeover.record.draftID)
        } catch {
            // The resume is committed (takeover resolved, `resumed` event in the outbox, key in flight under this
            // claim): this is not a refusal. The key waits for its lease to lapse, then `takeover recover`.
            log.info(
                "resumed, but the run failed; the key stays in flight until its lease lapses",
                metadata: [
                    "breakglass.error": "\(type(of: error))"
                ])
            throw .resumedButUnfinished(key, epoch: claim.epoch, cause: Self.ledgerError(key, error))
        }
        recordOutcome(result, logger: log)
        return ResumeOutcome(
            key: key, takeoverID: takeover.id, resumeEvidence: resumeEvidence, grantCheckEvidence: grantCheck,
            result: result,
            entry: try? await ledger.entry(for: key))
    }

    // MARK: - Shared by resume and revoke

    /// `text` trimmed and masked with the pipeline's `Masker` (e-mails, tokens, configured secrets); refused when
    /// empty.
    func maskedFreeText(_ text: String, key: RestorationKey, option: String) throws(TakeoverError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidInput(key, "\(option) is empty") }
        return masker.mask(trimmed)
    }

    func halted(_ key: RestorationKey) async throws(TakeoverError) -> LedgerEntry {
        let entry = try await row(key)
        guard entry.state == .halted else { throw .wrongState(key, entry.state, expected: .halted) }
        return entry
    }

    func row(_ key: RestorationKey) async throws(TakeoverError) -> LedgerEntry {
        do {
            guard let entry = try await ledger.entry(for: key) else { throw TakeoverError.notFound(key) }
            return entry
        } catch let error as TakeoverError {
            throw error
        } catch {
            throw Self.ledgerError(key, error)
        }
    }

    /// The request exactly as the original message said it (the body the worker verified and stored).
    func originalRequest(_ entry: LedgerEntry) throws(TakeoverError) -> RestorationRequest {
        guard let payload = entry.payload, !payload.isEmpty else { throw .payloadMissing(entry.key) }
        let request: RestorationRequest
        do {
            request = try RequestDecoder.decode(Array(payload))
        } catch {
            throw .payloadUnreadable(entry.key, error.code.rawValue)
        }
        guard request.key == entry.key else {
            throw .payloadUnreadable(entry.key, "the stored body belongs to another key")
        }
        return request
    }

    static func ledgerError(_ key: RestorationKey, _ error: any Error) -> TakeoverError {
        guard let error = error as? LedgerError else {
            return TakeoverError.ledger(
                key, .database(key, detail: String(describing: type(of: error)), underlying: error))
        }
        switch error.code {
        case .escalatedHalt: return .escalated(key)
        case .resumeLimit: return .resumeLimit(key, resumes: nil)
        case .notFound: return .notFound(key)
        default: return .ledger(key, error)
        }
    }
}

/// `resume.json` of a resume bundle: the person's decision and what the run may use (never more than the
/// original request).
struct ResumeRecord: Encodable {
    let takeoverID, resumedBy, note, resumedAt: String
    let resumeNumber, maximumResumes: Int
    let escalated, afterReconciliation: Bool
    let grantCheckBundle, draftID: String?
    let requestID: String
    let scopes: [String]
    let durationMinutes: Int

    enum CodingKeys: String, CodingKey {
        case takeoverID = "takeover_id", resumedBy = "resumed_by", note, resumedAt = "resumed_at"
        case resumeNumber = "resume_number", maximumResumes = "maximum_resumes", escalated
        case afterReconciliation = "after_reconciliation", grantCheckBundle = "grant_check_bundle", draftID = "draft_id"
        case requestID = "request_id", scopes, durationMinutes = "duration_minutes"
    }
}
