public import BreakGlassCore
import Foundation

/// What the console driver asks of the rest of the worker at the moments that matter, as closures so the driver
/// does not depend on the ledger or the sources client.
public struct SubmissionHooks: Sendable {
    /// The pre-submit recheck (gate issue), right before the final click: the result and, for evidence, the
    /// snapshot it was computed from.
    public var recheck: @Sendable (RestorationRequest) async -> (GateResult, PreSubmitSnapshot?)
    /// Called after the recheck and the console-state assertions passed, right before the click: the caller makes
    /// `submitting` durable in the ledger here. Throwing stops the flow without clicking.
    public var beforeSubmit: @Sendable () async throws -> Void
    /// Asked right before the click, after `beforeSubmit` returned and after the driver's last WebDriver call before
    /// the click (so the window to the click stays as small as it can be): nil allows the click; otherwise why not
    /// (the claim's lease would lapse before the confirmation bound, or the ledger no longer shows this claim in
    /// `submitting`: the process was frozen or slowed after `submitting`). A refusal halts pre-submit.
    public var clickAllowed: @Sendable () async -> String? = { nil }
    /// Whether IAM admin-state shows the grant (`grant_ref` = confirmation id) for the tenant now.
    public var grantVisible: @Sendable (_ tenantID: String, _ confirmationID: String) async -> GrantVisibility

    public enum GrantVisibility: Sendable, Hashable {
        case visible
        case absent
        /// The source could not be read (counts as not verified once the window is over).
        case unavailable(String)
    }

    public init(
        recheck: @escaping @Sendable (RestorationRequest) async -> (GateResult, PreSubmitSnapshot?),
        beforeSubmit: @escaping @Sendable () async throws -> Void,
        grantVisible: @escaping @Sendable (String, String) async -> GrantVisibility
    ) {
        self.recheck = recheck
        self.beforeSubmit = beforeSubmit
        self.grantVisible = grantVisible
    }

    /// Hooks over the live sources: the gate's pre-submit recheck with `policy` (bounded by `deadline`), and the IAM
    /// admin-state lookup.
    public static func live(
        sources: any LiveSources, policy: GatePolicy, deadline: Duration? = nil,
        beforeSubmit: @escaping @Sendable () async throws -> Void
    ) -> SubmissionHooks {
        SubmissionHooks(
            recheck: { request in
                await Spans.with("recheck") { span in
                    let (result, snapshot) = await sources.preSubmitRecheck(request, policy: policy, deadline: deadline)
                    if !result.passed { span.fail(result.codes.map(\.rawValue).joined(separator: ",")) }
                    return (result, snapshot)
                }
            },
            beforeSubmit: beforeSubmit,
            grantVisible: { tenantID, confirmationID in
                await Spans.with("iam-check") { span in
                    let visibility = await Self.iamShows(
                        sources: sources, tenantID: tenantID, confirmationID: confirmationID)
                    span["breakglass.grant_visible"] = .bool(visibility == .visible)
                    return visibility
                }
            })
    }

    /// Looks the grant up in the IAM admin-state.
    public static func iamShows(
        sources: any LiveSources, tenantID: String, confirmationID: String
    ) async -> GrantVisibility {
        switch await sources.fetchIAMAdminState(tenantID: tenantID) {
        case .found(let state):
            return state.activeBreakglassSessions.contains { $0.grantRef == confirmationID } ? .visible : .absent
        case .notFound:
            return .absent
        case .unavailable(let detail):
            return .unavailable(detail)
        }
    }
}
