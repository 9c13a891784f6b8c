import BreakGlassConsole
public import BreakGlassCore
import BreakGlassLedger
import Foundation
import Logging
import BreakGlassEvidence

extension RestorationPipeline {
    /// What the recovery scan did with one abandoned key.
    public struct ScanOutcome: Sendable, Hashable {
        public var key: RestorationKey
        public var previousState: RestorationState
        public var result: PipelineResult
    }

    /// The recovery scan (issue 15.3): keys in flight whose lease lapsed at least `grace` ago were left by an owner
    /// that died with no delivery coming back (its message was acked or dead-lettered, or a command was killed). Each
    /// is reclaimed (epoch + 1) and ends where a person sees it: a `submitting` row is reconciled against the
    /// console's active grants (granted when found, else an escalated `IN_DOUBT_UNRESOLVED` halt) and never
    /// submitted again; an earlier one becomes an escalated takeover record at stage `recovery` with its `halted`
    /// event (a person resumes it once they know why it stopped). A key whose message does come back meanwhile is
    /// claimed by that delivery first: the scan loses the claim and leaves it.
    public func recoverAbandoned(grace: Duration, limit: Int = 20) async -> [ScanOutcome] {
        let now = ledger.clock()
        let graceSeconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        let candidates = ((try? await ledger.expiredClaims(limit: limit)) ?? []).filter { entry in
            guard let lapsed = entry.leaseExpiresAt else { return true }
            return now.timeIntervalSince(lapsed) >= graceSeconds
        }
        var outcomes: [ScanOutcome] = []
        for entry in candidates {
            if let outcome = await recoverAbandoned(entry) { outcomes.append(outcome) }
        }
        return outcomes
    }

    private func recoverAbandoned(_ entry: LedgerEntry) async -> ScanOutcome? {
        let key = entry.key
        var log = logger
        log[metadataKey: "breakglass.case_id"] = "\(key.caseID)"
        log[metadataKey: "breakglass.tenant_id"] = "\(key.tenantID)"
        let claim: Claim
        do {
            guard
                case .claimed(let taken) = try await ledger.claim(
                    key, requestID: entry.requestID, owner: configuration.workerID)
            else { return nil }
            claim = taken
        } catch {
            log.warning(
                "recovery scan could not take an abandoned key over",
                metadata: [
                    "breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")"
                ])
            return nil
        }
        log[metadataKey: "breakglass.epoch"] = "\(claim.epoch)"
        log.warning(
            "abandoned in-flight key with no delivery: taking it over for a person",
            metadata: [
                "breakglass.previous_state": "\(entry.state.rawValue)",
                "breakglass.previous_owner": "\(entry.owner ?? "-")",
            ])
        do {
            let request = try entry.payload.map { try RequestDecoder.decode(Array($0)) }
            let result: PipelineResult
            if claim.recovery == .reconcile, let request {
                result = try await reconcile(request, claim: claim, logger: log)
            } else {
                let record = TakeoverRecord(
                    reasons: [.inDoubtUnresolved], stage: .recovery, escalate: true,
                    approvalRefs: request?.approvals.map(\.approvalID) ?? [],
                    note:
                        "the worker holding this key (state \(entry.state.rawValue), owner \(entry.owner ?? "-")) stopped and "
                        + "its message did not come back; check the console for the key's external reference, then resume or resolve"
                )
                var evidenceLocation: EvidenceLocation?
                if let request {
                    var recorder = EvidenceRecorder(
                        caseID: key.caseID, tenantID: key.tenantID, requestID: request.requestID,
                        workerID: configuration.workerID, masker: masker)
                    recorder.document("request.json", request)
                    recorder.document("takeover.json", record)
                    recorder.step(
                        "recovery", action: "abandoned key taken over by the recovery scan", outcome: "halted")
                    evidenceLocation = try? evidence.write(
                        recorder.bundle(
                            kind: "restoration", outcome: "halted",
                            reasons: record.reasons.map(\.rawValue)))
                }
                result = try await finishAbandoned(
                    key: key, requestID: entry.requestID, claim: claim, record: record,
                    evidence: evidenceLocation)
            }
            recordOutcome(result, logger: log)
            return ScanOutcome(key: key, previousState: entry.state, result: result)
        } catch {
            log.error(
                "recovery scan took a key over but could not record its halt; it is retried when this claim lapses",
                metadata: ["breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")"])
            return nil
        }
    }

    /// The halt of an abandoned key with its `halted` (and `evidence-ready`) events, in one transaction.
    private func finishAbandoned(
        key: RestorationKey, requestID: String, claim: Claim, record: TakeoverRecord,
        evidence location: EvidenceLocation?
    ) async throws -> PipelineResult {
        let now = clock()
        var outbox = [
            OutboxMessage(
                events.halted(
                    key: key, requestID: requestID, attempt: claim.resumeCount, stage: record.stage,
                    reasons: record.reasons,
                    escalate: record.escalate, takeoverID: claim.takeoverID, time: now), key: key)
        ]
        if let location {
            outbox.append(
                OutboxMessage(
                    events.evidenceReady(
                        key: key, requestID: requestID, bundleID: location.bundleID,
                        manifestSHA256: location.manifestSHA256,
                        location: configuration.location(of: location), artifacts: location.artifactCount, time: now),
                    key: key))
        }
        try await ledger.decide(claim, .halted(record), events: outbox)
        return PipelineResult(
            settlement: .ack, result: .halted, key: key, reasons: record.reasons, escalated: record.escalate)
    }
}
