public import Foundation

/// The escalation case as the live source answers `GET /v1/cases/{case_id}` (contract §4).
public struct CaseRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case open
        case closed
    }

    public struct Packet: Sendable, Hashable, Codable {
        public var id: String
        public var sha256: String
        public init(id: String, sha256: String) {
            self.id = id
            self.sha256 = sha256
        }
    }

    public struct Approval: Sendable, Hashable, Codable {
        public enum Status: String, Sendable, Hashable, Codable {
            case approved
            case revoked
            case pending
        }

        public var approvalID: String
        public var role: String
        public var approverID: String
        public var status: Status
        /// When the approval was given; nil while pending.
        public var approvedAt: Date?
        /// When the approval lapses; nil when it does not.
        public var expiresAt: Date?

        public init(
            approvalID: String, role: String, approverID: String, status: Status, approvedAt: Date?, expiresAt: Date?
        ) {
            self.approvalID = approvalID
            self.role = role
            self.approverID = approverID
            self.status = status
            self.approvedAt = approvedAt
            self.expiresAt = expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id"
            case role
            case approverID = "approver_id"
            case status
            case approvedAt = "approved_at"
            case expiresAt = "expires_at"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            approvalID = try c.decode(String.self, forKey: .approvalID)
            role = try c.decode(String.self, forKey: .role)
            approverID = try c.decode(String.self, forKey: .approverID)
            status = try c.decode(Status.self, forKey: .status)
            approvedAt = try c.decodeTimestampIfPresent(forKey: .approvedAt)
            expiresAt = try c.decodeTimestampIfPresent(forKey: .expiresAt)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(approvalID, forKey: .approvalID)
            try c.encode(role, forKey: .role)
            try c.encode(approverID, forKey: .approverID)
            try c.encode(status, forKey: .status)
            try c.encodeTimestamp(approvedAt, forKey: .approvedAt)
            try c.encodeTimestamp(expiresAt, forKey: .expiresAt)
        }
    }

    public var caseID: String
    public var status: Status
    public var tenantID: String
    public var incidentID: String
    public var requesterAdminID: String
    public var packet: Packet
    public var approvedScopes: [String]
    public var approvedDurationMinutes: Int
    public var approvals: [Approval]

    public init(
        caseID: String, status: Status, tenantID: String, incidentID: String, requesterAdminID: String,
        packet: Packet, approvedScopes: [String], approvedDurationMinutes: Int, approvals: [Approval]
    ) {
        self.caseID = caseID
        self.status = status
        self.tenantID = tenantID
        self.incidentID = incidentID
        self.requesterAdminID = requesterAdminID
        self.packet = packet
        self.approvedScopes = approvedScopes
        self.approvedDurationMinutes = approvedDurationMinutes
        self.approvals = approvals
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id"
        case status
        case tenantID = "tenant_id"
        case incidentID = "incident_id"
        case requesterAdminID = "requester_admin_id"
        case packet
        case approvedScopes = "approved_scopes"
        case approvedDurationMinutes = "approved_duration_minutes"
        case approvals
    }
}
