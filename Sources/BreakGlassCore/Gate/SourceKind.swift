/// The five live sources of the contract (§4).
public enum SourceKind: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// `GET /v1/cases/{case_id}`
    case escalationCase = "case"
    /// `GET /v1/tenants/{tenant_id}`
    case tenant
    /// `GET /v1/incidents/{incident_id}`
    case incident
    /// `GET /v1/identity/{admin_id}/assurance/{ref}`
    case identity
    /// `GET /v1/iam/tenants/{tenant_id}/admin-state`
    case iamAdminState = "iam_admin_state"

    public var description: String { rawValue }
}
