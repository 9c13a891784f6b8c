public import BreakGlassCore
import Foundation
public import BreakGlassEvidence

extension ConsoleDriver {
    /// Looks in the console's grants listing for grants (in any status) under the request's external reference
    /// (`<case_id>/<tenant_id>`) without submitting or changing anything (issue 10: the reconciliation a person
    /// asks for before resuming an escalated halt). Signs in through the flow's first screen, lists, and writes a
    /// `grant-check` evidence bundle (outcome `no-grant`, `grant-found` or `unknown`). Never throws.
    public func checkActiveGrants(_ request: RestorationRequest) async -> ConsoleGrantCheck {
        var state = newState(request)
        state.stage = .recovery
        state.recorder.step(
            "recovery", action: "check the console's active grants before a resume (nothing is submitted)")
        let browser: WebDriverSession
        do {
            browser = try await pool.lease()
        } catch {
            return finishCheck(
                .unknown(reasons: [.consoleError], detail: "no browser session could be opened"),
                request: request, state: &state)
        }
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL, context: context(request),
            masker: masker)
        var healthy = true
        let result: ConsoleGrantCheck.Result
        do throws(ConsoleFailure) {
            try await startClean(console, state: &state)
            if let first = map.flow.first { try await perform(first, console: console, state: &state, pressNext: true) }
            state.entered = [:]
            let grants = try await listActiveGrants(console, state: &state)
            let matching = Self.matching(grants, for: request)
            state.recorder.document(
                "reconciliation.json",
                ReconciliationRecord(
                    externalReference: request.key.description, listed: grants, matching: matching))
            if matching.isEmpty {
                state.recorder.step(
                    "recovery", screen: "active-grants", action: "no grant (in any status) for the external reference")
                result = .none
            } else {
                state.recorder.step(
                    "recovery", screen: "active-grants",
                    action: "grant found for the external reference (any status refuses a resume)",
                    outcome: "failed", detail: matching.map(\.confirmationID).joined(separator: ", "))
                result = .found(matching)
            }
        } catch {
            healthy = !error.sessionBroken
            state.recorder.step(
                "recovery", screen: error.screen ?? state.screen, action: "active grants could not be read",
                outcome: "failed", detail: "\(error.reasons.map(\.rawValue).joined(separator: ", ")): \(error.detail)")
            result = .unknown(reasons: error.reasons, detail: masker.mask(error.detail))
        }
        await pool.release(browser, healthy: healthy)
        return finishCheck(result, request: request, state: &state)
    }

    /// The listed grants that belong to the request's key (same external reference, same tenant when shown), in
    /// ANY status: a key is granted at most once, ever, so a revoked or expired grant refuses a resume as much as an
    /// active one does. (The in-doubt reconcile of `ConsoleDriver+Reconcile.swift` keeps its own active-status
    /// filter: there the question is whether the click just made a grant that is live now.)
    static func matching(_ grants: [ConsoleActiveGrant], for request: RestorationRequest) -> [ConsoleActiveGrant] {
        let key = request.key.description
        return grants.filter { grant in
            grant.externalReference == key && (grant.tenantID == nil || grant.tenantID == request.tenant.id)
        }
    }

    private func finishCheck(
        _ result: ConsoleGrantCheck.Result, request: RestorationRequest, state: inout FlowState
    ) -> ConsoleGrantCheck {
        let outcome: String
        var reasons: [String] = []
        switch result {
        case .none: outcome = "no-grant"
        case .found: outcome = "grant-found"
        case .unknown(let codes, _):
            outcome = "unknown"
            reasons = codes.map(\.rawValue)
        }
        state.recorder.document(
            "summary.json",
            [
                "outcome": outcome, "external_reference": request.key.description,
                "reasons": reasons.joined(separator: ", "),
            ])
        let bundle = state.recorder.bundle(kind: "grant-check", outcome: outcome, reasons: reasons)
        var location: EvidenceLocation?
        var evidenceError: EvidenceError?
        do { location = try evidence.write(bundle) } catch { evidenceError = error }
        var meta = metadata(request)
        meta["breakglass.outcome"] = "\(outcome)"
        logger.info("console active-grants check ended", metadata: meta)
        return ConsoleGrantCheck(result: result, evidence: location, evidenceError: evidenceError)
    }
}

/// What the console's active-grants listing showed for one key (`ConsoleDriver.checkActiveGrants`).
public struct ConsoleGrantCheck: Sendable {
    public enum Result: Sendable, Hashable {
        /// No grant for the key in the listing, in any status.
        case none
        /// Grants listed for the key, in any status (active, revoked, expired; normally one).
        case found([ConsoleActiveGrant])
        /// The listing could not be read: whether a grant exists is unknown.
        case unknown(reasons: [ReasonCode], detail: String)
    }

    public var result: Result
    /// The sealed `grant-check` bundle; `nil` only when writing it failed.
    public var evidence: EvidenceLocation?
    public var evidenceError: EvidenceError?

    public init(result: Result, evidence: EvidenceLocation?, evidenceError: EvidenceError? = nil) {
        self.result = result
        self.evidence = evidence
        self.evidenceError = evidenceError
    }
}
