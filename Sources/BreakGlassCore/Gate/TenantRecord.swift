/// The tenant master record, `GET /v1/tenants/{tenant_id}` (contract §4).
public struct TenantRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case active
        case suspended
        case offboarded
    }

    public var tenantID: String
    public var name: String
    public var status: Status

    public init(tenantID: String, name: String, status: Status) {
        self.tenantID = tenantID
        self.name = name
        self.status = status
    }

    enum CodingKeys: String, CodingKey {
        case tenantID = "tenant_id"
        case name
        case status
    }
}
