import BreakGlassCore
import Foundation
import BreakGlassEvidence

extension ConsoleDriver {
    /// Safe halt: a masked screenshot of where the flow stopped; before the click, "Save draft" where the map has
    /// it (recording the draft id) or abandon; then the takeover record.
    func halt(
        _ failure: ConsoleFailure, console: ConsoleSession, request: RestorationRequest,
        state: inout FlowState
    ) async -> TakeoverRecord {
        let screen = failure.screen ?? state.screen
        state.recorder.step(
            state.stage.rawValue, screen: screen, action: "halt", outcome: "failed",
            detail: "\(failure.reasons.map(\.rawValue).joined(separator: ", ")): \(failure.detail)")
        if !failure.sessionBroken || state.clicked, let png = await console.maskedScreenshot(screen: screen) {
            state.recorder.screenshot(png, screen: screen ?? "unknown", label: "halt")
        }
        let url = await console.currentURLForRecord()
        // A scope drift is never saved as a draft: the console's selection there is broader than approved, and a
        // draft would keep it for whoever resumes (the worker's before-fill check would halt on it again, a person in
        // the console might submit it). A resume then runs a fresh flow.
        let broader = failure.reasons.contains(.consoleScopeDrift)
        if !state.clicked, !failure.sessionBroken, !broader, let screen,
            let button = map.screen(screen)?.buttons.saveDraft,
            let draft = map.draft
        {
            do {
                try await console.press(button, what: "save draft", screen: screen)
                try await console.await(
                    draft.recognize, screen: "draft-saved", timeoutMs: min(map.timeouts.screenMs, 10_000))
                let id = try await console.text(draft.idSelector, screen: "draft-saved")
                state.draftID = id.flatMap { ConsoleIDPattern.extract($0, pattern: draft.idPattern) }.map {
                    masker.mask($0)
                }
                if let png = await console.maskedScreenshot(screen: nil) {
                    state.recorder.screenshot(png, screen: "draft-saved", label: "draft")
                }
                state.recorder.step(state.stage.rawValue, screen: screen, action: "draft saved", detail: state.draftID)
            } catch {
                state.recorder.step(
                    state.stage.rawValue, screen: screen, action: "save draft", outcome: "failed",
                    detail: "abandoned without submitting: \(error.detail)")
            }
        } else if !state.clicked {
            state.recorder.step(
                state.stage.rawValue, screen: screen, action: "abandoned without submitting",
                detail: broader ? "no draft saved: the console's selection is broader than approved" : nil)
        }
        if state.clicked {
            state.notes.append(
                "the final submit was clicked: access may have been granted; reconcile against the console's active grants before any retry"
            )
        }
        if let id = state.confirmationID { state.notes.append("console confirmation id: \(id)") }
        var record = takeoverRecord(failure, request: request, state: state, url: url)
        record.screen = screen
        return record
    }

    func takeoverRecord(
        _ failure: ConsoleFailure, request: RestorationRequest, state: FlowState, url: String?
    ) -> TakeoverRecord {
        TakeoverRecord(
            reasons: failure.reasons, stage: state.stage, escalate: state.clicked || state.stage == .recovery,
            screen: failure.screen ?? state.screen, url: url, enteredValues: state.entered,
            approvalRefs: request.approvals.map(\.approvalID), draftID: state.draftID,
            lastScreenshotPath: state.recorder.lastScreenshotPath,
            note: masker.mask(([failure.detail] + state.notes).joined(separator: ". ")))
    }

    /// Writes the bundle (entered values, takeover, summary, log, timing, screenshots) and makes the outcome.
    func finish(
        _ result: ConsoleOutcome.Result, request: RestorationRequest, state: inout FlowState,
        kind: String? = nil
    ) -> ConsoleOutcome {
        let outcome: String
        var reasons: [String] = []
        switch result {
        case .granted(let grant):
            outcome = grant.byReconciliation ? "granted-by-reconciliation" : "granted"
            state.recorder.document("grant.json", grant)
        case .halted(let record):
            outcome = "halted"
            reasons = record.reasons.map(\.rawValue)
            state.recorder.document("takeover.json", record)
        }
        state.recorder.document("entered-values.json", state.entered)
        var summary: [String: String] = [
            "outcome": outcome, "stage": state.stage.rawValue, "clicked": String(state.clicked),
            "console_map": map.name, "screens_completed": state.completedScreens.joined(separator: ", "),
            "external_reference": request.key.description,
        ]
        if !reasons.isEmpty { summary["reasons"] = reasons.joined(separator: ", ") }
        if let id = state.confirmationID { summary["confirmation_id"] = id }
        if let draft = state.draftID { summary["draft_id"] = draft }
        if let takeover = result.takeover { summary["escalate"] = String(takeover.escalate) }
        if !state.notes.isEmpty { summary["notes"] = state.notes.joined(separator: ". ") }
        state.recorder.document("summary.json", summary)
        let recheckToClick = state.recorder.recheckToClick
        let bundle = state.recorder.bundle(
            kind: kind ?? (result.isHalt ? "halt" : "grant"), outcome: outcome, reasons: reasons)
        var location: EvidenceLocation?
        var evidenceError: EvidenceError?
        do { location = try evidence.write(bundle) } catch {
            evidenceError = error
            logger.error(
                "evidence bundle could not be written",
                metadata: metadata(request).merging(
                    ["breakglass.error": "\(error.description)"], uniquingKeysWith: { a, _ in a }))
        }
        var meta = metadata(request)
        meta["breakglass.outcome"] = "\(outcome)"
        if !reasons.isEmpty { meta["breakglass.reasons"] = "\(reasons.joined(separator: ","))" }
        meta["breakglass.clicked"] = "\(state.clicked)"
        logger.info("console flow ended", metadata: meta)
        return ConsoleOutcome(
            result: result, evidence: location, evidenceError: evidenceError, clicked: state.clicked,
            beforeSubmitRefused: state.beforeSubmitRefused, recheckToClick: recheckToClick)
    }
}

extension ConsoleOutcome.Result {
    var takeover: TakeoverRecord? { if case .halted(let record) = self { record } else { nil } }
}
