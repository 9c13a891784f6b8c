public import BreakGlassConsole
public import BreakGlassCore

/// The console seam of the pipeline: drives the emergency admin console for one gate-passed request, or
/// reconciles an in-doubt one. The real implementation drives Chromium through WebDriver with a console map.
public protocol RestorationConsole: Sendable {
    /// Runs the flow screen by screen and submits only when everything is unambiguous. `recorder` already holds
    /// the gate's evidence; the outcome's bundle is sealed.
    func submit(_ request: RestorationRequest, recorder: EvidenceRecorder, hooks: SubmissionHooks) async -> ConsoleOutcome

    /// For a request whose previous owner died at or after the final click: looks for the grant in the console's
    /// active grants under the key's external reference, never resubmits.
    func reconcile(_ request: RestorationRequest, recorder: EvidenceRecorder) async -> ConsoleOutcome
}
