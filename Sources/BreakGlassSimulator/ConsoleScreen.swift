/// The console's screens, by their `data-screen` marker (`<main data-screen="scope">`). `submit` is the submit
/// action (for `error_at_screen` / `session_expires_at_screen`), not a page.
public enum ConsoleScreen: String, Sendable, CaseIterable, Codable {
    case login
    case tenant
    case tenantVerify = "tenant-verify"
    case incident
    case incidentVerify = "incident-verify"
    case scope
    case expiration
    case approvals
    case acknowledgement
    case submit
    case confirmation
    case grantExists = "grant-exists"
    case draftSaved = "draft-saved"
    case grants
    case revoke
    case revokeResult = "revoke-result"
    case error

    public static let allNames: [String] = allCases.map(\.rawValue)

    /// The screens of the grant flow that take input, in order (each has "Save draft").
    public static let flow: [ConsoleScreen] = [
        .tenant, .tenantVerify, .incident, .incidentVerify, .scope, .expiration, .approvals, .acknowledgement,
    ]

    /// The page's URL path.
    public var path: String {
        switch self {
        case .tenantVerify: "/console/tenant/verify"
        case .incidentVerify: "/console/incident/verify"
        default: "/console/\(rawValue)"
        }
    }

    /// The `<h1>` of the page.
    public var title: String {
        switch self {
        case .login: "Sign in to the emergency admin console"
        case .tenant: "Tenant lookup"
        case .tenantVerify: "Verify tenant"
        case .incident: "Incident reference"
        case .incidentVerify: "Verify incident"
        case .scope: "Temporary privilege scope"
        case .expiration: "Expiration"
        case .approvals: "Customer-account approval evidence"
        case .acknowledgement: "Acknowledgement and review"
        case .submit: "Submit"
        case .confirmation: "Break-glass access confirmation"
        case .grantExists: "Grant already exists"
        case .draftSaved: "Draft saved"
        case .grants: "Active grants"
        case .revoke: "Revoke break-glass access"
        case .revokeResult: "Revocation result"
        case .error: "Console error"
        }
    }
}
