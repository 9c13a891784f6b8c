public import BreakGlassConsole
public import BreakGlassCore
import Foundation
import Synchronization
public import BreakGlassEvidence

/// The in-memory twin of `ConsoleDriver` (as `InMemoryLiveSources` is of `LiveSourcesClient`): plays a script per
/// flow instead of driving Chromium, and calls the hooks in the documented order (recheck → console state →
/// `beforeSubmit` → click → confirmation → IAM check). It counts every click per key, the way the reference
/// console counts submits, so a test can assert "never submitted twice". For pipeline unit tests; never used in
/// place of the integration tests with the real browser.
public final class ScriptedConsole: RestorationConsole {
    /// What one console flow does.
    public enum Script: Sendable {
        /// Recheck, `beforeSubmit`, click; the console confirms `confirmationID` (checked in IAM through the
        /// hooks when `verifyInIAM`).
        case grant(confirmationID: String, verifyInIAM: Bool = false)
        /// Stops before the click at `stage` with `reasons` (a console finding: scope drift, a timeout, ...).
        case haltBeforeClick(stage: TakeoverRecord.Stage, reasons: [ReasonCode])
        /// Recheck, `beforeSubmit`, click, then no confirmation: an escalated `CONFIRMATION_AMBIGUOUS` halt.
        case confirmationLost
    }

    /// One flow as the twin saw it, in order.
    public enum Call: Sendable, Hashable {
        case submit(RestorationKey, resumeDraftID: String?)
        case recheck(RestorationKey)
        case beforeSubmit(RestorationKey)
        case click(RestorationKey)
        case reconcile(RestorationKey)
        case checkActiveGrants(RestorationKey)
        case revoke(RestorationKey, confirmationID: String)
    }

    private struct State {
        var scripts: [RestorationKey: [Script]] = [:]
        var defaultScript: Script = .grant(confirmationID: "EA-SCRIPTED-1")
        var activeGrants: [RestorationKey: String] = [:]
        var listingUnreadable = false
        var calls: [Call] = []
        var clicks: [RestorationKey: Int] = [:]
        var pauseBeforeClick: (@Sendable (RestorationKey) async -> Void)?
        var pauseBeforeSubmitting: (@Sendable (RestorationKey) async -> Void)?
    }

    private let state = Mutex(State())
    let evidence: EvidenceStore?
    let masker: Masker
    let workerID: String

    /// `evidence`: where the flows' bundles are sealed (none when `nil`: outcomes then carry no evidence).
    public init(evidence: EvidenceStore?, masker: Masker = Masker(), workerID: String = "scripted") {
        self.evidence = evidence
        self.masker = masker
        self.workerID = workerID
    }

    // MARK: - Script and inspection

    /// Queues scripts for the next flows of `key` (one per flow, in order); afterwards the default plays.
    public func script(_ key: RestorationKey, _ scripts: Script...) {
        state.withLock { $0.scripts[key, default: []].append(contentsOf: scripts) }
    }

    /// The script played by flows of keys without a queued one. Default: grant `EA-SCRIPTED-1`.
    public func setDefault(_ script: Script) { state.withLock { $0.defaultScript = script } }

    /// Puts (or removes, with `nil`) a grant for `key` in the console's active-grants listing.
    public func setActiveGrant(_ key: RestorationKey, confirmationID: String?) {
        state.withLock { $0.activeGrants[key] = confirmationID }
    }

    /// Makes the active-grants listing unreadable (reconcile and grant checks answer "unknown").
    public func setListingUnreadable(_ unreadable: Bool) { state.withLock { $0.listingUnreadable = unreadable } }

    /// Runs `body` right before every click (after `beforeSubmit` returned): a test freezes a flow there.
    public func setPauseBeforeClick(_ body: (@Sendable (RestorationKey) async -> Void)?) {
        state.withLock { $0.pauseBeforeClick = body }
    }

    /// Runs `body` after the recheck passed, right before `beforeSubmit` (a flow that stalls before `submitting`).
    public func setPauseBeforeSubmitting(_ body: (@Sendable (RestorationKey) async -> Void)?) {
        state.withLock { $0.pauseBeforeSubmitting = body }
    }

    /// Every call, in order.
    public var calls: [Call] { state.withLock { $0.calls } }
    /// How many final clicks `key` got (the console's submit count).
    public func clicks(_ key: RestorationKey) -> Int { state.withLock { $0.clicks[key] ?? 0 } }

    private func record(_ call: Call) { state.withLock { $0.calls.append(call) } }

    // MARK: - RestorationConsole

    public func submit(
        _ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult?, sources: SourceSnapshot?,
        resumeDraftID: String?
    ) async -> ConsoleOutcome {
        let key = request.key
        record(.submit(key, resumeDraftID: resumeDraftID))
        let script: Script = state.withLock { state in
            if var queued = state.scripts[key], !queued.isEmpty {
                let next = queued.removeFirst()
                state.scripts[key] = queued
                return next
            }
            return state.defaultScript
        }
        var recorder = recorder(for: request)
        if let gate { recorder.document("gate.json", gate) }
        if let sources { recorder.document("sources.json", sources) }
        recorder.step("console", action: "scripted flow started")

        if case .haltBeforeClick(let stage, let reasons) = script {
            recorder.step("console", action: "scripted halt", outcome: "failed")
            return outcome(
                .halted(TakeoverRecord(reasons: reasons, stage: stage, escalate: false, note: "scripted halt")),
                request: request, recorder: &recorder, clicked: false)
        }
        record(.recheck(key))
        let (recheck, _) = await hooks.recheck(request)
        recorder.document("recheck.json", ["passed": recheck.passed])
        guard recheck.passed else {
            recorder.step("pre-submit", action: "recheck", outcome: "failed")
            return outcome(
                .halted(
                    TakeoverRecord(
                        reasons: recheck.codes, stage: .preSubmit, escalate: false,
                        note: "pre-submit recheck failed")),
                request: request, recorder: &recorder, clicked: false)
        }
        if let pause = state.withLock({ $0.pauseBeforeSubmitting }) { await pause(key) }
        record(.beforeSubmit(key))
        do {
            try await hooks.beforeSubmit()
        } catch {
            recorder.step("pre-submit", action: "record submitting", outcome: "failed")
            var result = outcome(
                .halted(
                    TakeoverRecord(
                        reasons: [.consoleError], stage: .preSubmit, escalate: false,
                        note: "submitting could not be recorded; nothing was clicked")),
                request: request, recorder: &recorder, clicked: false)
            result.beforeSubmitRefused = true
            return result
        }
        if let pause = state.withLock({ $0.pauseBeforeClick }) { await pause(key) }
        if let refusal = await hooks.clickAllowed() {
            recorder.step("pre-submit", action: "click refused", outcome: "failed", detail: refusal)
            return outcome(
                .halted(
                    TakeoverRecord(
                        reasons: [.consoleError], stage: .preSubmit, escalate: false,
                        note: "not clicked: \(refusal)")),
                request: request, recorder: &recorder, clicked: false)
        }
        record(.click(key))
        state.withLock { $0.clicks[key, default: 0] += 1 }
        recorder.step("post-submit", action: "final click")

        switch script {
        case .grant(let confirmationID, let verifyInIAM):
            var verified = true
            if verifyInIAM {
                verified = await hooks.grantVisible(request.tenant.id, confirmationID) == .visible
            }
            guard verified else {
                return outcome(
                    .halted(TakeoverRecord(reasons: [.grantUnverified], stage: .postSubmit, escalate: true)),
                    request: request, recorder: &recorder, clicked: true)
            }
            state.withLock { $0.activeGrants[key] = confirmationID }
            let grant = ConsoleGrant(
                confirmationID: confirmationID, status: "active", expiresAt: nil,
                scopes: request.privilege.scopes, byReconciliation: false, verifiedInIAM: verifyInIAM)
            return outcome(.granted(grant), request: request, recorder: &recorder, clicked: true)
        case .confirmationLost:
            return outcome(
                .halted(TakeoverRecord(reasons: [.confirmationAmbiguous], stage: .postSubmit, escalate: true)),
                request: request, recorder: &recorder, clicked: true)
        case .haltBeforeClick:
            preconditionFailure("handled above")
        }
    }

    public func reconcile(
        _ request: RestorationRequest,
        grantVisible: (@Sendable (String, String) async -> SubmissionHooks.GrantVisibility)?
    ) async -> ConsoleOutcome {
        record(.reconcile(request.key))
        var recorder = recorder(for: request)
        let (unreadable, found) = state.withLock { ($0.listingUnreadable, $0.activeGrants[request.key]) }
        if !unreadable, let found {
            let grant = ConsoleGrant(
                confirmationID: found, status: "active", expiresAt: nil, scopes: request.privilege.scopes,
                byReconciliation: true, verifiedInIAM: false)
            return outcome(
                .granted(grant), request: request, recorder: &recorder, clicked: false, kind: "reconciliation")
        }
        let record = TakeoverRecord(
            reasons: [.inDoubtUnresolved], stage: .recovery, escalate: true,
            note: unreadable ? "active grants unreadable" : "no grant for the key in the listing")
        return outcome(.halted(record), request: request, recorder: &recorder, clicked: false, kind: "reconciliation")
    }

    public func checkActiveGrants(_ request: RestorationRequest) async -> ConsoleGrantCheck {
        record(.checkActiveGrants(request.key))
        let (unreadable, found) = state.withLock { ($0.listingUnreadable, $0.activeGrants[request.key]) }
        if unreadable {
            return ConsoleGrantCheck(result: .unknown(reasons: [.consoleError], detail: "scripted"), evidence: nil)
        }
        guard let found else { return ConsoleGrantCheck(result: .none, evidence: nil) }
        return ConsoleGrantCheck(
            result: .found([
                ConsoleActiveGrant(
                    confirmationID: found, externalReference: request.key.description, tenantID: request.tenant.id,
                    status: "active",
                    expiresAt: nil)
            ]), evidence: nil)
    }

    public func revoke(
        _ request: RestorationRequest, confirmationID: String, reason: String, revokedBy: String,
        grantVisible: @escaping @Sendable (String, String) async -> SubmissionHooks.GrantVisibility
    ) async -> ConsoleRevocation {
        record(.revoke(request.key, confirmationID: confirmationID))
        state.withLock { $0.activeGrants[request.key] = nil }
        return ConsoleRevocation(revoked: true, takeover: nil, evidence: nil, clicked: true)
    }

    // MARK: - Evidence

    private func recorder(for request: RestorationRequest) -> EvidenceRecorder {
        var recorder = EvidenceRecorder(
            caseID: request.caseID, tenantID: request.tenant.id, requestID: request.requestID,
            workerID: workerID, masker: masker)
        recorder.document("request.json", request)
        return recorder
    }

    private func outcome(
        _ result: ConsoleOutcome.Result, request: RestorationRequest, recorder: inout EvidenceRecorder,
        clicked: Bool, kind: String = "restoration"
    ) -> ConsoleOutcome {
        let name: String
        let reasons: [String]
        switch result {
        case .granted:
            name = "granted"
            reasons = []
        case .halted(let record):
            name = "halted"
            reasons = record.reasons.map(\.rawValue)
            recorder.document("takeover.json", record)
        }
        let bundle = recorder.bundle(kind: kind, outcome: name, reasons: reasons)
        var location: EvidenceLocation?
        var failure: EvidenceError?
        if let evidence {
            do { location = try evidence.write(bundle) } catch { failure = error }
        }
        return ConsoleOutcome(result: result, evidence: location, evidenceError: failure, clicked: clicked)
    }
}
