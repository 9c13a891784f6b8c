/// A break-glass grant made through the console.
public struct SimulatorGrant: Codable, Sendable, Equatable {
    /// `BG-` + 8 characters `[A-Z0-9]`; the IAM session's `grant_ref`.
    public var confirmationID: String
    public var tenantID: String
    public var externalReference: String
    public var incidentID: String
    public var scopes: [String]
    public var durationMinutes: Int
    public var approvalReferences: [String]
    public var packetID: String
    public var packetSHA256: String
    public var grantedAt: String
    public var expiresAt: String
    /// `active` or `revoked`.
    public var status: String
    public var revokedAt: String?
    public var revokeReason: String?
    /// Whether the grant shows in IAM admin-state (false under `grant_absent_from_iam`, or after a revoke).
    public var inIAM: Bool

    enum CodingKeys: String, CodingKey {
        case confirmationID = "confirmation_id", tenantID = "tenant_id", externalReference = "external_reference"
        case incidentID = "incident_id", scopes, durationMinutes = "duration_minutes"
        case approvalReferences = "approval_references", packetID = "packet_id", packetSHA256 = "packet_sha256"
        case grantedAt = "granted_at", expiresAt = "expires_at", status, revokedAt = "revoked_at"
        case revokeReason = "revoke_reason", inIAM = "in_iam"
    }
}
