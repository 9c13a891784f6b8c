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

    /// Whether `screen`'s input is in.
    public func isComplete(_ screen: ConsoleScreen) -> Bool {
        switch screen {
        case .tenant: tenantID != nil && externalReference != nil && resolvedTenantID != nil
        case .tenantVerify: tenantConfirmed
        case .incident: incidentID != nil
        case .incidentVerify: incidentConfirmed
        case .scope: scopes != nil
        case .expiration: expirationDone
        case .approvals: approvalReferences != nil && packetID != nil && packetSHA256 != nil
        case .acknowledgement: acknowledged
        default: true
        }
    }

    /// The first screen of the flow (in `order`) still lacking input, or `nil` when everything is in.
    public func firstIncompleteScreen(in order: [ConsoleScreen] = ConsoleScreen.flow) -> ConsoleScreen? {
        order.first { !isComplete($0) }
    }

    /// Whether `screen` may be shown: every screen before it (in `order`) is complete.
    public func allows(_ screen: ConsoleScreen, in order: [ConsoleScreen] = ConsoleScreen.flow) -> Bool {
        guard let index = order.firstIndex(of: screen) else { return true }
        guard let missing = firstIncompleteScreen(in: order), let missingIndex = order.firstIndex(of: missing) else {
            return true
        }
        return index <= missingIndex
    }
}
