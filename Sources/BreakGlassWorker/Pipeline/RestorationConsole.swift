public import BreakGlassConsole
public import BreakGlassCore

/// The console seam of the pipeline: drives the emergency admin console for one gate-passed request, or
/// reconciles an in-doubt one. `ConsoleDriver` (Chromium over WebDriver, map-driven) is the real one.
public protocol RestorationConsole: Sendable {
    /// Runs the flow screen by screen and submits only when everything is unambiguous. Never throws: every end
    /// is an outcome with a sealed evidence bundle (which also holds `gate` and `sources`). `resumeDraftID`: a
    /// draft saved by an earlier halt (takeover resume); the flow falls back to a fresh one when it cannot open it.
    func submit(
        _ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult?, sources: SourceSnapshot?,
        resumeDraftID: String?
    ) async -> ConsoleOutcome

    /// For a request whose previous owner died at or after the final click: looks for the grant in the console's
    /// active grants under the key's external reference, never resubmits.
    func reconcile(
        _ request: RestorationRequest,
        grantVisible: (@Sendable (String, String) async -> SubmissionHooks.GrantVisibility)?
    )
        async -> ConsoleOutcome

    /// The console's active grants for the request's key, changing nothing (before resuming an escalated halt).
    func checkActiveGrants(_ request: RestorationRequest) async -> ConsoleGrantCheck

    /// Drives the revoke screen for a granted request and checks that IAM no longer shows the session.
    func revoke(
        _ request: RestorationRequest, confirmationID: String, reason: String, revokedBy: String,
        grantVisible: @escaping @Sendable (String, String) async -> SubmissionHooks.GrantVisibility
    ) async -> ConsoleRevocation
}

extension RestorationConsole {
    /// A fresh flow (no saved draft).
    public func submit(
        _ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult?, sources: SourceSnapshot?
    )
        async -> ConsoleOutcome
    {
        await submit(request, hooks: hooks, gate: gate, sources: sources, resumeDraftID: nil)
    }
}

extension ConsoleDriver: RestorationConsole {}
