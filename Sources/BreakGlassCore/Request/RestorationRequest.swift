public import Foundation

/// An approved restoration request, the message body of the contract (§2), after every rule was checked.
public struct RestorationRequest: Sendable, Hashable, Codable {
    public static let schema = "breakglass.restoration.approved/v1"
    /// The contract's body limit: 64 KiB.
    public static let maximumBodySize = 64 * 1024
    public static let durationRange = 1...1440

    public struct Tenant: Sendable, Hashable, Codable {
        public var id: String
        public var name: String
        public init(id: String, name: String) {
            self.id = id
            self.name = name
        }
    }

    public struct Incident: Sendable, Hashable, Codable {
        public var id: String
        public init(id: String) { self.id = id }
    }

    public struct Requester: Sendable, Hashable, Codable {
        public var adminID: String
        public var identityAssuranceRef: String
        public init(adminID: String, identityAssuranceRef: String) {
            self.adminID = adminID
            self.identityAssuranceRef = identityAssuranceRef
        }
        enum CodingKeys: String, CodingKey {
            case adminID = "admin_id"
            case identityAssuranceRef = "identity_assurance_ref"
        }
    }

    public struct Privilege: Sendable, Hashable, Codable {
        public var role: String
        public var scopes: [String]
        public var durationMinutes: Int
        public init(role: String, scopes: [String], durationMinutes: Int) {
            self.role = role
            self.scopes = scopes
            self.durationMinutes = durationMinutes
        }
        enum CodingKeys: String, CodingKey {
            case role, scopes
            case durationMinutes = "duration_minutes"
        }
    }

    public struct Approval: Sendable, Hashable, Codable {
        public var role: String
        public var approvalID: String
        public var approverID: String
        public init(role: String, approvalID: String, approverID: String) {
            self.role = role
            self.approvalID = approvalID
            self.approverID = approverID
        }
        enum CodingKeys: String, CodingKey {
            case role
            case approvalID = "approval_id"
            case approverID = "approver_id"
        }
    }

    public struct Packet: Sendable, Hashable, Codable {
        public var id: String
        /// Lower-case hex of the packet document's SHA-256.
        public var sha256: String
        public init(id: String, sha256: String) {
            self.id = id
            self.sha256 = sha256
        }
    }

    public var requestID: String
    public var caseID: String
    public var tenant: Tenant
    public var incident: Incident
    public var requester: Requester
    public var privilege: Privilege
    public var approvals: [Approval]
    public var packet: Packet
    public var enqueuedAt: Date
    public var notAfter: Date

    public init(
        requestID: String, caseID: String, tenant: Tenant, incident: Incident, requester: Requester,
        privilege: Privilege, approvals: [Approval], packet: Packet, enqueuedAt: Date, notAfter: Date
    ) {
        self.requestID = requestID
        self.caseID = caseID
        self.tenant = tenant
        self.incident = incident
        self.requester = requester
        self.privilege = privilege
        self.approvals = approvals
        self.packet = packet
        self.enqueuedAt = enqueuedAt
        self.notAfter = notAfter
    }

    /// The idempotency key (`case_id`, `tenant.id`).
    public var key: RestorationKey { RestorationKey(caseID: caseID, tenantID: tenant.id) }

    enum CodingKeys: String, CodingKey {
        case requestID = "request_id"
        case caseID = "case_id"
        case tenant, incident, requester, privilege, approvals, packet
        case enqueuedAt = "enqueued_at"
        case notAfter = "not_after"
    }
}
