public import BreakGlassCore
import Foundation
import BreakGlassEvidence

extension ConsoleDriver {
    /// Drives the map's revoke screen for a granted request (issue 10): signs in, opens the revoke screen of
    /// `confirmationID`, asserts it shows that grant for the tenant, fills the reason, presses revoke, reads the
    /// result, then checks (bounded by the verification window) that IAM admin-state no longer shows the session.
    /// Writes a `revocation` evidence bundle. Never throws.
    public func revoke(
        _ request: RestorationRequest, confirmationID: String, reason: String, revokedBy: String,
        grantVisible: @escaping @Sendable (String, String) async -> SubmissionHooks.GrantVisibility
    ) async -> ConsoleRevocation {
        var state = newState(request)
        state.confirmationID = confirmationID
        state.recorder.document(
            "revocation-request.json", ["confirmation_id": confirmationID, "revoked_by": revokedBy, "reason": reason])
        guard let spec = map.revoke else {
            let failure = ConsoleFailure(.consoleUnexpectedScreen, "the console map has no revoke screen")
            return finishRevocation(failure, request: request, state: &state)
        }
        let browser: WebDriverSession
        do { browser = try await pool.lease() } catch {
            return finishRevocation(
                ConsoleFailure(.consoleError, "no browser session could be opened"), request: request, state: &state)
        }
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL,
            context: context(request, confirmationID: confirmationID, revokeReason: reason), masker: masker)
        var failure: ConsoleFailure?
        do throws(ConsoleFailure) {
            try await startClean(console, state: &state)
            if let first = map.flow.first { try await perform(first, console: console, state: &state, pressNext: true) }
            state.entered = [:]
            state.screen = "revoke"
            try await console.navigate(spec.path, screen: "revoke")
            try await console.await(spec.recognize, screen: "revoke")
            try await console.checkAll(
                spec.assertions.filter { $0.assertionPhase == .beforeFill }, screen: "revoke")
            for field in spec.fields {
                state.entered[field.field] = try await console.fill(field, screen: "revoke")
            }
            try await console.checkAll(
                spec.assertions.filter { $0.assertionPhase == .afterFill }, screen: "revoke")
            if let png = await console.maskedScreenshot(screen: nil) {
                state.recorder.screenshot(png, screen: "revoke", label: "checked")
            }
            state.stage = .postSubmit
            state.clicked = true
            state.recorder.mark("click")
            state.recorder.step("revoke", screen: "revoke", action: "revoke clicked")
            try await console.press(spec.button, what: "revoke", screen: "revoke")
            try await console.await(
                spec.result.recognize, screen: "revoke-result", timeoutMs: map.timeouts.confirmationMs)
            let status = try await console.text(spec.result.status.selector, screen: "revoke-result") ?? ""
            if let png = await console.maskedScreenshot(screen: nil) {
                state.recorder.screenshot(png, screen: "revoke-result", label: "result")
            }
            state.recorder.document("revoke-result.json", ["confirmation_id": confirmationID, "status": status])
            guard spec.result.status.expected?.contains(status) ?? !status.isEmpty else {
                throw ConsoleFailure(
                    .confirmationAmbiguous, "the revoke result shows status \(status.isEmpty ? "missing" : status)",
                    screen: "revoke-result")
            }
            // IAM must stop showing the session within the window.
            let clock = ContinuousClock()
            let deadline = clock.now.advanced(by: configuration.grantVerificationWindow)
            var visibility = await grantVisible(request.tenant.id, confirmationID)
            while visibility != .absent, clock.now < deadline {
                try? await Task.sleep(for: configuration.grantVerificationInterval)
                visibility = await grantVisible(request.tenant.id, confirmationID)
            }
            guard visibility == .absent else {
                throw ConsoleFailure(
                    .grantUnverified,
                    "IAM admin-state still shows \(confirmationID) (or could not be read) after the revocation",
                    screen: "revoke-result")
            }
            state.recorder.step(
                "revoke", screen: "revoke-result", action: "session gone from IAM", detail: confirmationID)
        } catch {
            failure = error
        }
        var healthy = failure.map { !$0.sessionBroken } ?? true
        if let failure {
            state.recorder.step(
                "revoke", screen: failure.screen ?? state.screen, action: "revocation failed", outcome: "failed",
                detail: "\(failure.reasons.map(\.rawValue).joined(separator: ", ")): \(failure.detail)")
            if let png = await console.maskedScreenshot(screen: nil) {
                state.recorder.screenshot(png, screen: state.screen ?? "revoke", label: "halt")
            }
            if state.clicked { healthy = false }
        }
        await pool.release(browser, healthy: healthy)
        if let failure { return finishRevocation(failure, request: request, state: &state) }
        let bundle = state.recorder.bundle(kind: "revocation", outcome: "revoked", reasons: [])
        var location: EvidenceLocation?
        var evidenceError: EvidenceError?
        do { location = try evidence.write(bundle) } catch { evidenceError = error }
        logger.info("console revocation confirmed", metadata: metadata(request))
        return ConsoleRevocation(
            revoked: true, takeover: nil, evidence: location, evidenceError: evidenceError, clicked: true)
    }

    func finishRevocation(
        _ failure: ConsoleFailure, request: RestorationRequest, state: inout FlowState
    ) -> ConsoleRevocation {
        var record = takeoverRecord(failure, request: request, state: state, url: nil)
        // The grant may still be active whatever happened: a person must look.
        record.escalate = true
        state.recorder.document("takeover.json", record)
        state.recorder.document(
            "summary.json",
            [
                "outcome": "revoke-failed", "confirmation_id": state.confirmationID ?? "",
                "reasons": failure.reasons.map(\.rawValue).joined(separator: ", "),
                "clicked": String(state.clicked),
            ])
        let bundle = state.recorder.bundle(
            kind: "revocation", outcome: "revoke-failed", reasons: failure.reasons.map(\.rawValue))
        var location: EvidenceLocation?
        var evidenceError: EvidenceError?
        do { location = try evidence.write(bundle) } catch { evidenceError = error }
        logger.info("console revocation failed", metadata: metadata(request))
        return ConsoleRevocation(
            revoked: false, takeover: record, evidence: location, evidenceError: evidenceError, clicked: state.clicked)
    }
}
