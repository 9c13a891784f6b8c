public import BreakGlassCore
public import Foundation
public import BreakGlassEvidence

/// How one console flow (a submission, or an in-doubt reconciliation) ended, with its evidence bundle.
public struct ConsoleOutcome: Sendable {
    public enum Result: Sendable {
        /// The console granted access (confirmed and seen in IAM), or the reconciliation found the grant.
        case granted(ConsoleGrant)
        /// The flow stopped; the takeover record says where and why (`escalate` when the click happened).
        case halted(TakeoverRecord)
    }

    public var result: Result
    /// The sealed bundle; `nil` only when writing it failed (`evidenceError` says why).
    public var evidence: EvidenceLocation?
    public var evidenceError: EvidenceError?
    /// Whether the final submit click was sent.
    public var clicked: Bool
    /// True when `beforeSubmit` (the ledger's `submitting`) refused: nothing was clicked and the caller's claim
    /// may be gone, so it should not record a halt as if it still owned the request.
    public var beforeSubmitRefused: Bool
    /// The time between the end of the pre-submit recheck and the click.
    public var recheckToClick: TimeInterval?

    public init(
        result: Result, evidence: EvidenceLocation?, evidenceError: EvidenceError? = nil, clicked: Bool,
        beforeSubmitRefused: Bool = false, recheckToClick: TimeInterval? = nil
    ) {
        self.result = result
        self.evidence = evidence
        self.evidenceError = evidenceError
        self.clicked = clicked
        self.beforeSubmitRefused = beforeSubmitRefused
        self.recheckToClick = recheckToClick
    }

    public var grant: ConsoleGrant? { if case .granted(let grant) = result { grant } else { nil } }
    public var takeover: TakeoverRecord? { if case .halted(let record) = result { record } else { nil } }
}

/// A grant the console confirmed (or that the active-grants listing shows for the key).
public struct ConsoleGrant: Sendable, Hashable, Codable {
    public var confirmationID: String
    public var status: String
    public var expiresAt: String?
    public var scopes: [String]
    /// True when the grant was found by the in-doubt reconciliation or reported by the console as already
    /// existing, rather than confirmed after this flow's click.
    public var byReconciliation: Bool
    /// Whether IAM admin-state showed the grant within the window.
    public var verifiedInIAM: Bool

    public init(
        confirmationID: String, status: String, expiresAt: String?, scopes: [String], byReconciliation: Bool,
        verifiedInIAM: Bool
    ) {
        self.confirmationID = confirmationID
        self.status = status
        self.expiresAt = expiresAt
        self.scopes = scopes
        self.byReconciliation = byReconciliation
        self.verifiedInIAM = verifiedInIAM
    }

    enum CodingKeys: String, CodingKey {
        case confirmationID = "confirmation_id"
        case status
        case expiresAt = "expires_at"
        case scopes
        case byReconciliation = "by_reconciliation"
        case verifiedInIAM = "verified_in_iam"
    }
}

/// One row of the console's active-grants listing.
public struct ConsoleActiveGrant: Sendable, Hashable, Codable {
    public var confirmationID: String
    public var externalReference: String
    public var tenantID: String?
    public var status: String?
    public var expiresAt: String?

    public init(
        confirmationID: String, externalReference: String, tenantID: String?, status: String?, expiresAt: String?
    ) {
        self.confirmationID = confirmationID
        self.externalReference = externalReference
        self.tenantID = tenantID
        self.status = status
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case confirmationID = "confirmation_id"
        case externalReference = "external_reference"
        case tenantID = "tenant_id"
        case status
        case expiresAt = "expires_at"
    }
}
