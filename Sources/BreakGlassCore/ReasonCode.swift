/// Every reason code of the contract (§6), spelled exactly as the contract spells it.
///
/// The raw value is the wire spelling used in events, the ledger and the CLI.
public enum ReasonCode: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    // Rejected: the message itself is unacceptable; it is dead-lettered.
    case schemaInvalid = "SCHEMA_INVALID"
    case payloadTooLarge = "PAYLOAD_TOO_LARGE"
    case signatureMissing = "SIGNATURE_MISSING"
    case signatureInvalid = "SIGNATURE_INVALID"
    case unknownKey = "UNKNOWN_KEY"
    case requestExpired = "REQUEST_EXPIRED"
    case deliveryLimit = "DELIVERY_LIMIT"

    // Halted at the gate: the live sources disagree with the message, or cannot be read.
    case caseNotFound = "CASE_NOT_FOUND"
    case caseClosed = "CASE_CLOSED"
    case packetMismatch = "PACKET_MISMATCH"
    case approvalMissing = "APPROVAL_MISSING"
    case approvalRevoked = "APPROVAL_REVOKED"
    case approvalPending = "APPROVAL_PENDING"
    case approvalExpired = "APPROVAL_EXPIRED"
    case approvalStale = "APPROVAL_STALE"
    case approvalMismatch = "APPROVAL_MISMATCH"
    case sodViolation = "SOD_VIOLATION"
    case tenantMismatch = "TENANT_MISMATCH"
    case tenantInactive = "TENANT_INACTIVE"
    case incidentMismatch = "INCIDENT_MISMATCH"
    case incidentNotActive = "INCIDENT_NOT_ACTIVE"
    case identityUnverified = "IDENTITY_UNVERIFIED"
    case scopeExceedsApproval = "SCOPE_EXCEEDS_APPROVAL"
    case durationExceedsPolicy = "DURATION_EXCEEDS_POLICY"
    case existingSession = "EXISTING_SESSION"
    case sourceUnavailable = "SOURCE_UNAVAILABLE"

    // Halted in the console.
    case consoleTenantMismatch = "CONSOLE_TENANT_MISMATCH"
    case consoleScopeDrift = "CONSOLE_SCOPE_DRIFT"
    case consoleExpiryControlMissing = "CONSOLE_EXPIRY_CONTROL_MISSING"
    case consoleExistingSession = "CONSOLE_EXISTING_SESSION"
    case consoleUnexpectedScreen = "CONSOLE_UNEXPECTED_SCREEN"
    case consoleError = "CONSOLE_ERROR"
    case consoleTimeout = "CONSOLE_TIMEOUT"
    case confirmationAmbiguous = "CONFIRMATION_AMBIGUOUS"
    case grantUnverified = "GRANT_UNVERIFIED"
    case inDoubtUnresolved = "IN_DOUBT_UNRESOLVED"

    /// Which part of the contract's §6 list the code belongs to.
    public enum Category: String, Sendable, Hashable {
        case rejected
        case gate
        case console
    }

    public var category: Category {
        switch self {
        case .schemaInvalid, .payloadTooLarge, .signatureMissing, .signatureInvalid, .unknownKey,
            .requestExpired, .deliveryLimit:
            .rejected
        case .caseNotFound, .caseClosed, .packetMismatch, .approvalMissing, .approvalRevoked, .approvalPending,
            .approvalExpired, .approvalStale, .approvalMismatch, .sodViolation, .tenantMismatch, .tenantInactive,
            .incidentMismatch, .incidentNotActive, .identityUnverified, .scopeExceedsApproval,
            .durationExceedsPolicy, .existingSession, .sourceUnavailable:
            .gate
        case .consoleTenantMismatch, .consoleScopeDrift, .consoleExpiryControlMissing, .consoleExistingSession,
            .consoleUnexpectedScreen, .consoleError, .consoleTimeout, .confirmationAmbiguous, .grantUnverified,
            .inDoubtUnresolved:
            .console
        }
    }

    public var description: String { rawValue }
}
