public import BreakGlassCore
import Foundation

extension ConsoleDriver {
    /// In-doubt recovery for a request found `submitting` (its worker died around the click): never resubmits.
    /// Signs in (the flow's first screen), opens the active-grants listing for the external reference
    /// (`<case_id>/<tenant_id>`) and decides: an active grant for the key → granted by reconciliation (evidence
    /// says so); none → halted `IN_DOUBT_UNRESOLVED` with escalate = true. A console failure on the way is also
    /// `IN_DOUBT_UNRESOLVED` (with the console's code), never a retry.
    ///
    /// - Parameter grantVisible: optional IAM lookup; when given, a found grant is also checked there.
    public func reconcile(
        _ request: RestorationRequest,
        grantVisible: (@Sendable (String, String) async -> SubmissionHooks.GrantVisibility)? = nil
    ) async -> ConsoleOutcome {
        var state = newState(request)
        state.stage = .recovery
        state.recorder.step("recovery", action: "reconcile in-doubt request (found submitting); no resubmission")
        let browser: WebDriverSession
        do {
            browser = try await pool.lease()
        } catch {
            let failure = ConsoleFailure(
                reasons: [.inDoubtUnresolved, .consoleError], "no browser session could be opened")
            return finish(
                .halted(takeoverRecord(failure, request: request, state: state, url: nil)), request: request,
                state: &state, kind: "reconciliation")
        }
        let console = ConsoleSession(
            browser: browser, map: map, baseURL: configuration.baseURL,
            context: context(request), masker: masker)
        var healthy = true
        let result: ConsoleOutcome.Result
        do {
            try await startClean(console, state: &state)
            if let first = map.flow.first {
                try await perform(first, console: console, state: &state, pressNext: true)
            }
            state.entered = [:]
            let grants = try await listActiveGrants(console, state: &state)
            let key = request.key.description
            let matching = grants.filter { grant in
                grant.externalReference == key && (grant.tenantID == nil || grant.tenantID == request.tenant.id)
                    && (map.activeGrants.activeStatus == nil
                        || map.activeGrants.activeStatus!.contains(grant.status ?? ""))
            }
            state.recorder.document(
                "reconciliation.json", ReconciliationRecord(externalReference: key, listed: grants, matching: matching))
            if let found = matching.first {
                var verified = false
                if let grantVisible {
                    verified = await grantVisible(request.tenant.id, found.confirmationID) == .visible
                    state.recorder.step(
                        "recovery", action: "IAM check", outcome: verified ? "ok" : "failed",
                        detail: found.confirmationID)
                }
                state.confirmationID = found.confirmationID
                state.notes.append(
                    "granted by reconciliation: the console's active grants show \(found.confirmationID) for \(key)")
                if matching.count > 1 {
                    state.notes.append("\(matching.count) grants listed for this external reference")
                }
                state.recorder.step(
                    "recovery", action: "grant found for the external reference", detail: found.confirmationID)
                result = .granted(
                    ConsoleGrant(
                        confirmationID: found.confirmationID, status: found.status ?? "listed",
                        expiresAt: found.expiresAt, scopes: request.privilege.scopes,
                        byReconciliation: true, verifiedInIAM: verified))
            } else {
                state.recorder.step("recovery", action: "no grant for the external reference", outcome: "failed")
                let failure = ConsoleFailure(
                    .inDoubtUnresolved,
                    "the console's active grants show nothing for \(key); whether access was granted is unknown",
                    screen: "active-grants")
                result = .halted(await halt(failure, console: console, request: request, state: &state))
            }
        } catch {
            healthy = !error.sessionBroken
            var failure = error
            failure.reasons = [.inDoubtUnresolved] + error.reasons.filter { $0 != .inDoubtUnresolved }
            result = .halted(await halt(failure, console: console, request: request, state: &state))
        }
        await pool.release(browser, healthy: healthy)
        return finish(result, request: request, state: &state, kind: "reconciliation")
    }

    /// The listing for the request's key (the caller must be signed in).
    func listActiveGrants(
        _ console: ConsoleSession, state: inout FlowState
    ) async throws(ConsoleFailure) -> [ConsoleActiveGrant] {
        let spec = map.activeGrants
        try await console.navigate(spec.path, screen: "active-grants")
        try await console.await(spec.recognize, screen: "active-grants")
        let rows = try await console.wd("list grants", screen: "active-grants") {
            try await console.browser.findElements(css: spec.row)
        }
        var grants: [ConsoleActiveGrant] = []
        for row in rows {
            var values: [String: String] = [:]
            for (name, column) in spec.columns {
                let value: String? = try await console.wd("read grant \(name)", screen: "active-grants") {
                    if let attribute = column.attribute {
                        return try await console.browser.attribute(attribute, of: row)
                    }
                    if let selector = column.selector,
                        let cell = try await console.browser.findElements(css: selector, in: row).first
                    {
                        return try await console.browser.text(of: cell).trimmingCharacters(in: .whitespacesAndNewlines)
                    }
                    return nil
                }
                if let value {
                    if column.pattern == nil {
                        values[name] = value
                    } else if let read = ConsoleIDPattern.extract(value, pattern: column.pattern) {
                        values[name] = read
                    }
                }
            }
            guard let id = values["confirmation_id"], let reference = values["external_reference"] else { continue }
            grants.append(
                ConsoleActiveGrant(
                    confirmationID: id, externalReference: reference, tenantID: values["tenant_id"],
                    status: values["status"], expiresAt: values["expires_at"]))
        }
        if let png = await console.maskedScreenshot(screen: nil) {
            state.recorder.screenshot(png, screen: "active-grants", label: "listing")
        }
        state.recorder.step(
            "recovery", screen: "active-grants", action: "listed active grants", detail: "\(grants.count) row(s)")
        return grants
    }

    struct ReconciliationRecord: Encodable {
        let externalReference: String
        let listed: [ConsoleActiveGrant]
        let matching: [ConsoleActiveGrant]

        enum CodingKeys: String, CodingKey {
            case externalReference = "external_reference", listed, matching
        }
    }
}
