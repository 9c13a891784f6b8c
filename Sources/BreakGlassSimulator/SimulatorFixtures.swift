import Foundation

/// Everything the simulator knows: tenants, incidents, escalation cases, identity assurance, IAM state per tenant
/// and the console's own settings. Loaded from YAML or JSON; field names are the contract's (§4) where the contract
/// names them.
///
/// Times are RFC 3339 strings. A fixture file may also write them relative to the moment it is loaded,
/// `now`, `now+2h`, `now-30m`, `now+1d` (units `s`, `m`, `h`, `d`), so a sample file never goes stale; `resolved(at:)`
/// turns them into absolute RFC 3339 times.
public struct SimulatorFixtures: Codable, Sendable, Equatable {
    public var tenants: [Tenant]
    public var incidents: [Incident]
    public var cases: [Case]
    public var identities: [Identity]
    /// IAM state by tenant id.
    public var iam: [String: IAMState]
    public var console: ConsoleSettings

    public init(
        tenants: [Tenant] = [], incidents: [Incident] = [], cases: [Case] = [], identities: [Identity] = [],
        iam: [String: IAMState] = [:], console: ConsoleSettings = ConsoleSettings()
    ) {
        self.tenants = tenants
        self.incidents = incidents
        self.cases = cases
        self.identities = identities
        self.iam = iam
        self.console = console
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.tenants = try container.decodeIfPresent([Tenant].self, forKey: .tenants) ?? []
        self.incidents = try container.decodeIfPresent([Incident].self, forKey: .incidents) ?? []
        self.cases = try container.decodeIfPresent([Case].self, forKey: .cases) ?? []
        self.identities = try container.decodeIfPresent([Identity].self, forKey: .identities) ?? []
        self.iam = try container.decodeIfPresent([String: IAMState].self, forKey: .iam) ?? [:]
        self.console = try container.decodeIfPresent(ConsoleSettings.self, forKey: .console) ?? ConsoleSettings()
    }

    // MARK: - Tenants, incidents, cases, identities

    /// A tenant of the tenant master. `contact_email` is personal data: shown on the console's tenant page only,
    /// never returned by the live-source API.
    public struct Tenant: Codable, Sendable, Equatable {
        public var tenantID: String
        public var name: String
        public var region: String
        /// `active`, `suspended` or `offboarded`.
        public var status: String
        public var contactEmail: String

        public init(
            tenantID: String, name: String, region: String = "eu-west-1", status: String = "active",
            contactEmail: String = ""
        ) {
            self.tenantID = tenantID
            self.name = name
            self.region = region
            self.status = status
            self.contactEmail = contactEmail
        }

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id", name, region, status, contactEmail = "contact_email"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            tenantID = try c.decode(String.self, forKey: .tenantID)
            name = try c.decode(String.self, forKey: .name)
            region = try c.decodeIfPresent(String.self, forKey: .region) ?? "eu-west-1"
            status = try c.decodeIfPresent(String.self, forKey: .status) ?? "active"
            contactEmail = try c.decodeIfPresent(String.self, forKey: .contactEmail) ?? ""
        }
    }

    public struct Incident: Codable, Sendable, Equatable {
        public var incidentID: String
        public var title: String
        /// `active`, `mitigated` or `resolved`.
        public var status: String
        public var tenantIDs: [String]

        public init(incidentID: String, title: String, status: String = "active", tenantIDs: [String]) {
            self.incidentID = incidentID
            self.title = title
            self.status = status
            self.tenantIDs = tenantIDs
        }

        enum CodingKeys: String, CodingKey {
            case incidentID = "incident_id", title, status, tenantIDs = "tenant_ids"
        }
    }

    public struct Packet: Codable, Sendable, Equatable {
        public var id: String
        public var sha256: String

        public init(id: String, sha256: String) {
            self.id = id
            self.sha256 = sha256
        }
    }

    public struct Approval: Codable, Sendable, Equatable {
        public var approvalID: String
        public var role: String
        public var approverID: String
        /// `approved`, `revoked` or `pending`.
        public var status: String
        public var approvedAt: String?
        public var expiresAt: String?

        public init(
            approvalID: String, role: String, approverID: String, status: String = "approved",
            approvedAt: String? = nil, expiresAt: String? = nil
        ) {
            self.approvalID = approvalID
            self.role = role
            self.approverID = approverID
            self.status = status
            self.approvedAt = approvedAt
            self.expiresAt = expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case approvalID = "approval_id", role, approverID = "approver_id", status
            case approvedAt = "approved_at", expiresAt = "expires_at"
        }

        /// Always writes `approved_at` and `expires_at`, `null` when absent, as the contract lists both.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(approvalID, forKey: .approvalID)
            try c.encode(role, forKey: .role)
            try c.encode(approverID, forKey: .approverID)
            try c.encode(status, forKey: .status)
            try c.encode(approvedAt, forKey: .approvedAt)
            try c.encode(expiresAt, forKey: .expiresAt)
        }
    }

    /// An escalation case, exactly the contract's `GET /v1/cases/{case_id}` shape.
    public struct Case: Codable, Sendable, Equatable {
        public var caseID: String
        /// `open` or `closed`.
        public var status: String
        public var tenantID: String
        public var incidentID: String
        public var requesterAdminID: String
        public var packet: Packet
        public var approvedScopes: [String]
        public var approvedDurationMinutes: Int
        public var approvals: [Approval]

        public init(
            caseID: String, status: String = "open", tenantID: String, incidentID: String,
            requesterAdminID: String, packet: Packet, approvedScopes: [String],
            approvedDurationMinutes: Int, approvals: [Approval]
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
            case caseID = "case_id", status, tenantID = "tenant_id", incidentID = "incident_id"
            case requesterAdminID = "requester_admin_id", packet, approvedScopes = "approved_scopes"
            case approvedDurationMinutes = "approved_duration_minutes", approvals
        }
    }

    public struct Identity: Codable, Sendable, Equatable {
        public var adminID: String
        public var ref: String
        public var verified: Bool
        public var verifiedAt: String?

        public init(adminID: String, ref: String, verified: Bool = true, verifiedAt: String? = nil) {
            self.adminID = adminID
            self.ref = ref
            self.verified = verified
            self.verifiedAt = verifiedAt
        }

        enum CodingKeys: String, CodingKey {
            case adminID = "admin_id", ref, verified, verifiedAt = "verified_at"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ref, forKey: .ref)
            try c.encode(adminID, forKey: .adminID)
            try c.encode(verified, forKey: .verified)
            try c.encode(verifiedAt, forKey: .verifiedAt)
        }
    }

    // MARK: - IAM

    public struct Policy: Codable, Sendable, Equatable {
        public var maxDurationMinutes: Int
        public var requiredApprovalRoles: [String]

        public init(
            maxDurationMinutes: Int = 240,
            requiredApprovalRoles: [String] = ["incident-command", "security", "customer-account-authority"]
        ) {
            self.maxDurationMinutes = maxDurationMinutes
            self.requiredApprovalRoles = requiredApprovalRoles
        }

        enum CodingKeys: String, CodingKey {
            case maxDurationMinutes = "max_duration_minutes", requiredApprovalRoles = "required_approval_roles"
        }
    }

    /// A break-glass session already present in IAM (from the fixtures, not granted through the console).
    public struct Session: Codable, Sendable, Equatable {
        public var grantRef: String
        public var expiresAt: String

        public init(grantRef: String, expiresAt: String) {
            self.grantRef = grantRef
            self.expiresAt = expiresAt
        }

        enum CodingKeys: String, CodingKey {
            case grantRef = "grant_ref", expiresAt = "expires_at"
        }
    }

    public struct IAMState: Codable, Sendable, Equatable {
        public var policy: Policy
        /// Approver id to the roles the directory says it holds.
        public var directoryRoles: [String: [String]]
        public var sessions: [Session]

        public init(policy: Policy = Policy(), directoryRoles: [String: [String]] = [:], sessions: [Session] = []) {
            self.policy = policy
            self.directoryRoles = directoryRoles
            self.sessions = sessions
        }

        enum CodingKeys: String, CodingKey {
            case policy, directoryRoles = "directory_roles", sessions
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            policy = try c.decodeIfPresent(Policy.self, forKey: .policy) ?? Policy()
            directoryRoles = try c.decodeIfPresent([String: [String]].self, forKey: .directoryRoles) ?? [:]
            sessions = try c.decodeIfPresent([Session].self, forKey: .sessions) ?? []
        }
    }

    // MARK: - Console

    public struct OfferedScope: Codable, Sendable, Equatable {
        public var scope: String
        public var label: String
        /// Checked when the scope screen first opens.
        public var prechecked: Bool

        public init(scope: String, label: String, prechecked: Bool = false) {
            self.scope = scope
            self.label = label
            self.prechecked = prechecked
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            scope = try c.decode(String.self, forKey: .scope)
            label = try c.decodeIfPresent(String.self, forKey: .label) ?? scope
            prechecked = try c.decodeIfPresent(Bool.self, forKey: .prechecked) ?? false
        }
    }

    public struct ServiceAccount: Codable, Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public struct ConsoleSettings: Codable, Sendable, Equatable {
        /// The console's service account (the worker logs in with it).
        public var serviceAccount: ServiceAccount
        /// The scopes offered as checkboxes, in order.
        public var offeredScopes: [OfferedScope]
        /// The broader scope the `broader_scope_prechecked` fault pre-checks (and locks); must be one of
        /// `offeredScopes`, or it is added to the screen.
        public var broadScope: String
        /// The console's own maximum duration, shown on the expiration screen. Default 480.
        public var maxDurationMinutes: Int
        /// Idle time after which a console session is over (back to login). Default 30.
        public var sessionIdleMinutes: Int
        /// How the console is built (`reference` or `alternate`). Default `reference`.
        public var layout: ConsoleLayout = .reference

        public init(
            serviceAccount: ServiceAccount = ServiceAccount(username: "svc-breakglass", password: "change-me"),
            offeredScopes: [OfferedScope] = ConsoleSettings.defaultScopes,
            broadScope: String = "tenant.full-admin",
            maxDurationMinutes: Int = 480,
            sessionIdleMinutes: Int = 30
        ) {
            self.serviceAccount = serviceAccount
            self.offeredScopes = offeredScopes
            self.broadScope = broadScope
            self.maxDurationMinutes = maxDurationMinutes
            self.sessionIdleMinutes = sessionIdleMinutes
        }

        public static let defaultScopes: [OfferedScope] = [
            OfferedScope(scope: "admins.restore", label: "Restore tenant administrators", prechecked: true),
            OfferedScope(scope: "users.reset-mfa", label: "Reset user MFA"),
            OfferedScope(scope: "audit.read", label: "Read audit log"),
            OfferedScope(scope: "tenant.full-admin", label: "Full tenant administration"),
        ]

        enum CodingKeys: String, CodingKey {
            case serviceAccount = "service_account", offeredScopes = "offered_scopes", broadScope = "broad_scope"
            case maxDurationMinutes = "max_duration_minutes", sessionIdleMinutes = "session_idle_minutes"
            case layout
        }

        public init(from decoder: any Decoder) throws {
            let d = ConsoleSettings()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            serviceAccount = try c.decodeIfPresent(ServiceAccount.self, forKey: .serviceAccount) ?? d.serviceAccount
            offeredScopes = try c.decodeIfPresent([OfferedScope].self, forKey: .offeredScopes) ?? d.offeredScopes
            broadScope = try c.decodeIfPresent(String.self, forKey: .broadScope) ?? d.broadScope
            maxDurationMinutes = try c.decodeIfPresent(Int.self, forKey: .maxDurationMinutes) ?? d.maxDurationMinutes
            sessionIdleMinutes = try c.decodeIfPresent(Int.self, forKey: .sessionIdleMinutes) ?? d.sessionIdleMinutes
            layout = try c.decodeIfPresent(ConsoleLayout.self, forKey: .layout) ?? .reference
        }
    }
}
