public import BreakGlassCore

/// Where a field's value (or an assertion's expected value) comes from: the request, the worker's console
/// credentials, the confirmation, the revocation, or a literal.
public enum ConsoleValue: Sendable, Hashable {
    case tenantID
    case tenantName
    /// `<case_id>/<tenant_id>`: the idempotency key as the console's external reference.
    case externalReference
    case incidentID
    case caseID
    case requestID
    /// The approved scopes (a list).
    case scopes
    case durationMinutes
    /// The approval ids, joined with ", " as text, or a list.
    case approvalRefs
    case packetID
    case packetSHA256
    case username
    case password
    case confirmationID
    case revokeReason
    case literal(String)

    /// The spellings a map may use.
    public static let names: [String: ConsoleValue] = [
        "tenant.id": .tenantID, "tenant.name": .tenantName, "external_reference": .externalReference,
        "incident.id": .incidentID, "case_id": .caseID, "request_id": .requestID, "scopes": .scopes,
        "duration_minutes": .durationMinutes, "approval_refs": .approvalRefs, "packet.id": .packetID,
        "packet.sha256": .packetSHA256, "credentials.username": .username, "credentials.password": .password,
        "confirmation_id": .confirmationID, "revoke.reason": .revokeReason,
    ]

    /// Parses `tenant.id`, ..., or `literal:<text>`.
    public init?(parsing text: String) {
        if text.hasPrefix("literal:") {
            self = .literal(String(text.dropFirst("literal:".count)))
            return
        }
        guard let value = Self.names[text] else { return nil }
        self = value
    }

    /// Whether the value is a list (for `checkboxes`, `checked_exactly`, `list_equals`).
    public var isList: Bool { self == .scopes || self == .approvalRefs }

    /// Whether the value is a secret (never written anywhere, even masked).
    public var isSecret: Bool { self == .password }

    /// The values a request, the credentials and the moment give.
    public struct Context: Sendable {
        public var request: RestorationRequest
        public var username: String
        public var password: Secret
        public var confirmationID: String?
        public var revokeReason: String?

        public init(
            request: RestorationRequest, username: String, password: Secret, confirmationID: String? = nil,
            revokeReason: String? = nil
        ) {
            self.request = request
            self.username = username
            self.password = password
            self.confirmationID = confirmationID
            self.revokeReason = revokeReason
        }
    }

    /// The value as a list (a scalar becomes one element).
    public func list(in context: Context) -> [String] {
        switch self {
        case .scopes: context.request.privilege.scopes
        case .approvalRefs: context.request.approvals.map(\.approvalID)
        default: [text(in: context)]
        }
    }

    /// The value as text (lists joined with ", ").
    public func text(in context: Context) -> String {
        let request = context.request
        switch self {
        case .tenantID: return request.tenant.id
        case .tenantName: return request.tenant.name
        case .externalReference: return request.key.description
        case .incidentID: return request.incident.id
        case .caseID: return request.caseID
        case .requestID: return request.requestID
        case .scopes: return request.privilege.scopes.joined(separator: ", ")
        case .durationMinutes: return String(request.privilege.durationMinutes)
        case .approvalRefs: return request.approvals.map(\.approvalID).joined(separator: ", ")
        case .packetID: return request.packet.id
        case .packetSHA256: return request.packet.sha256
        case .username: return context.username
        case .password: return context.password.revealed
        case .confirmationID: return context.confirmationID ?? ""
        case .revokeReason: return context.revokeReason ?? ""
        case .literal(let text): return text
        }
    }
}
