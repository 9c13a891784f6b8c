public import Foundation

/// The five live-source answers for one request, as fetched (concurrently) right before the gate.
///
/// Holds no secret: safe to store in evidence.
public struct SourceSnapshot: Sendable, Hashable, Codable {
    public var escalationCase: SourceAnswer<CaseRecord>
    public var tenant: SourceAnswer<TenantRecord>
    public var incident: SourceAnswer<IncidentRecord>
    public var identity: SourceAnswer<IdentityAssurance>
    public var iamAdminState: SourceAnswer<IAMAdminState>
    /// When the fetch started and when the last answer arrived (worker clock).
    public var fetchStartedAt: Date
    public var fetchFinishedAt: Date

    public init(
        escalationCase: SourceAnswer<CaseRecord>, tenant: SourceAnswer<TenantRecord>,
        incident: SourceAnswer<IncidentRecord>, identity: SourceAnswer<IdentityAssurance>,
        iamAdminState: SourceAnswer<IAMAdminState>, fetchStartedAt: Date = Date(), fetchFinishedAt: Date = Date()
    ) {
        self.escalationCase = escalationCase
        self.tenant = tenant
        self.incident = incident
        self.identity = identity
        self.iamAdminState = iamAdminState
        self.fetchStartedAt = fetchStartedAt
        self.fetchFinishedAt = fetchFinishedAt
    }

    enum CodingKeys: String, CodingKey {
        case escalationCase = "case"
        case tenant
        case incident
        case identity
        case iamAdminState = "iam_admin_state"
        case fetchStartedAt = "fetch_started_at"
        case fetchFinishedAt = "fetch_finished_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        escalationCase = try c.decode(SourceAnswer<CaseRecord>.self, forKey: .escalationCase)
        tenant = try c.decode(SourceAnswer<TenantRecord>.self, forKey: .tenant)
        incident = try c.decode(SourceAnswer<IncidentRecord>.self, forKey: .incident)
        identity = try c.decode(SourceAnswer<IdentityAssurance>.self, forKey: .identity)
        iamAdminState = try c.decode(SourceAnswer<IAMAdminState>.self, forKey: .iamAdminState)
        fetchStartedAt = try c.decodeTimestamp(forKey: .fetchStartedAt)
        fetchFinishedAt = try c.decodeTimestamp(forKey: .fetchFinishedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(escalationCase, forKey: .escalationCase)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(incident, forKey: .incident)
        try c.encode(identity, forKey: .identity)
        try c.encode(iamAdminState, forKey: .iamAdminState)
        try c.encodeTimestamp(fetchStartedAt, forKey: .fetchStartedAt)
        try c.encodeTimestamp(fetchFinishedAt, forKey: .fetchFinishedAt)
    }
}
