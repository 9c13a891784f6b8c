public import Foundation

/// The worker's own gate settings (the IAM policy from the live source provides the rest).
public struct GatePolicy: Sendable, Hashable, Codable {
    /// An approval granted longer ago than this, though not expired, is `APPROVAL_STALE`. Default 12 hours.
    public var maxApprovalAge: TimeInterval
    /// The requester's identity must have been verified at most this long ago. Default 24 hours.
    public var identityAssuranceMaxAge: TimeInterval
    /// Tolerated clock difference between the worker and the sources. Applied to stay safe: deadlines
    /// (`expires_at`, `not_after`, session expiry) count as reached this much earlier, and a past instant
    /// (`approved_at`, `verified_at`) may lie this much in the future. Default 30 seconds.
    public var clockSkewTolerance: TimeInterval
    /// Roles that must have approved, overriding the IAM policy's `required_approval_roles`; nil (the default)
    /// uses the IAM policy.
    public var requiredRolesOverride: [String]?
    /// The worker's own service identity: never acceptable as an approver. Default `svc-breakglass`.
    public var workerServiceIdentity: String

    public init(
        maxApprovalAge: TimeInterval = 12 * 3600,
        identityAssuranceMaxAge: TimeInterval = 24 * 3600,
        clockSkewTolerance: TimeInterval = 30,
        requiredRolesOverride: [String]? = nil,
        workerServiceIdentity: String = "svc-breakglass"
    ) {
        self.maxApprovalAge = maxApprovalAge
        self.identityAssuranceMaxAge = identityAssuranceMaxAge
        self.clockSkewTolerance = clockSkewTolerance
        self.requiredRolesOverride = requiredRolesOverride
        self.workerServiceIdentity = workerServiceIdentity
    }

    enum CodingKeys: String, CodingKey {
        case maxApprovalAge = "max_approval_age_seconds"
        case identityAssuranceMaxAge = "identity_assurance_max_age_seconds"
        case clockSkewTolerance = "clock_skew_tolerance_seconds"
        case requiredRolesOverride = "required_roles_override"
        case workerServiceIdentity = "worker_service_identity"
    }
}
