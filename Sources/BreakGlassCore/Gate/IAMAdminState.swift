public import Foundation

/// The tenant's IAM admin state, `GET /v1/iam/tenants/{tenant_id}/admin-state` (contract §4).
public struct IAMAdminState: Sendable, Hashable, Codable {
    public struct Session: Sendable, Hashable, Codable {
        public var grantRef: String
        public var expiresAt: Date

        public init(grantRef: String, expiresAt: Date) {
            self.grantRef = grantRef
            self.expiresAt = expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case grantRef = "grant_ref"
            case expiresAt = "expires_at"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            grantRef = try c.decode(String.self, forKey: .grantRef)
            expiresAt = try c.decodeTimestamp(forKey: .expiresAt)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(grantRef, forKey: .grantRef)
            try c.encodeTimestamp(expiresAt, forKey: .expiresAt)
        }
    }

    public struct Policy: Sendable, Hashable, Codable {
        public var maxDurationMinutes: Int
        public var requiredApprovalRoles: [String]

        public init(maxDurationMinutes: Int, requiredApprovalRoles: [String]) {
            self.maxDurationMinutes = maxDurationMinutes
            self.requiredApprovalRoles = requiredApprovalRoles
        }

        enum CodingKeys: String, CodingKey {
            case maxDurationMinutes = "max_duration_minutes"
            case requiredApprovalRoles = "required_approval_roles"
        }
    }

    public var activeBreakglassSessions: [Session]
    public var policy: Policy
    /// Approver id to the roles the directory says that person holds.
    public var directoryRoles: [String: [String]]

    public init(activeBreakglassSessions: [Session], policy: Policy, directoryRoles: [String: [String]]) {
        self.activeBreakglassSessions = activeBreakglassSessions
        self.policy = policy
        self.directoryRoles = directoryRoles
    }

    enum CodingKeys: String, CodingKey {
        case activeBreakglassSessions = "active_breakglass_sessions"
        case policy
        case directoryRoles = "directory_roles"
    }
}
