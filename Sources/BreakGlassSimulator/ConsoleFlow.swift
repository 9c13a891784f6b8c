/// The values entered so far in one grant flow (also what a draft stores).
public struct ConsoleFlow: Codable, Sendable, Equatable {
    public var tenantID: String?
    public var externalReference: String?
    /// The tenant the console resolved the lookup to (differs from `tenantID` under `wrong_tenant_after_lookup`).
    public var resolvedTenantID: String?
    public var tenantConfirmed = false
    public var incidentID: String?
    public var incidentConfirmed = false
    public var scopes: [String]?
    public var durationMinutes: Int?
    public var expirationDone = false
    public var approvalReferences: [String]?
    public var packetID: String?
    public var packetSHA256: String?
    public var acknowledged = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case tenantID = "tenant_id", externalReference = "external_reference"
        case resolvedTenantID = "resolved_tenant_id", tenantConfirmed = "tenant_confirmed"
        case incidentID = "incident_id", incidentConfirmed = "incident_confirmed", scopes
        case durationMinutes = "duration_minutes", expirationDone = "expiration_done"
        case approvalReferences = "approval_references", packetID = "packet_id", packetSHA256 = "packet_sha256"
        case acknowledged
    }

    /// The tenant the grant is for: the one the console resolved.
    public var effectiveTenantID: String? { resolvedTenantID ?? tenantID }

    /// The first screen of the flow still lacking input, or `nil` when everything up to the acknowledgement is in.
    public var firstIncompleteScreen: ConsoleScreen? {
        if tenantID == nil || externalReference == nil || resolvedTenantID == nil { return .tenant }
        if !tenantConfirmed { return .tenantVerify }
        if incidentID == nil { return .incident }
        if !incidentConfirmed { return .incidentVerify }
        if scopes == nil { return .scope }
        if !expirationDone { return .expiration }
        if approvalReferences == nil || packetID == nil || packetSHA256 == nil { return .approvals }
        if !acknowledged { return .acknowledgement }
        return nil
    }

    /// Whether `screen` may be shown: every screen before it is complete.
    public func allows(_ screen: ConsoleScreen) -> Bool {
        guard let index = ConsoleScreen.flow.firstIndex(of: screen) else { return true }
        guard let missing = firstIncompleteScreen, let missingIndex = ConsoleScreen.flow.firstIndex(of: missing) else {
            return true
        }
        return index <= missingIndex
    }
}
