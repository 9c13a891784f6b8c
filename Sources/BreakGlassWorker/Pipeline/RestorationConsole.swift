public import BreakGlassConsole
public import BreakGlassCore

/// The console seam of the pipeline: drives the emergency admin console for one gate-passed request, or
/// reconciles an in-doubt one. `ConsoleDriver` (Chromium over WebDriver, map-driven) is the real one.
public protocol RestorationConsole: Sendable {
    /// Runs the flow screen by screen and submits only when everything is unambiguous. Never throws: every end
    /// is an outcome with a sealed evidence bundle (which also holds `gate` and `sources`).
    func submit(_ request: RestorationRequest, hooks: SubmissionHooks, gate: GateResult?, sources: SourceSnapshot?) async
        -> ConsoleOutcome

    /// For a request whose previous owner died at or after the final click: looks for the grant in the console's
    /// active grants under the key's external reference, never resubmits.
    func reconcile(_ request: RestorationRequest, grantVisible: (@Sendable (String, String) async -> SubmissionHooks.GrantVisibility)?)
        async -> ConsoleOutcome
}

extension ConsoleDriver: RestorationConsole {}
