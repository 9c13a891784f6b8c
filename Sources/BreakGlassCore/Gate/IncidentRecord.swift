/// The incident, `GET /v1/incidents/{incident_id}` (contract §4).
public struct IncidentRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case active
        case mitigated
        case resolved
    }

    public var incidentID: String
    public var status: Status
    public var tenantIDs: [String]

    public init(incidentID: String, status: Status, tenantIDs: [String]) {
        self.incidentID = incidentID
        self.status = status
        self.tenantIDs = tenantIDs
    }

    enum CodingKeys: String, CodingKey {
        case incidentID = "incident_id"
        case status
        case tenantIDs = "tenant_ids"
    }
}
