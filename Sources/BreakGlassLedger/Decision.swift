public import BreakGlassCore
public import Foundation

/// What was decided for a key: the answer to "has this key been dealt with?" on every redelivery.
public struct Decision: Sendable, Hashable {
    public let key: RestorationKey
    /// granted, rejected, resolved, or halted (waiting for a person).
    public let state: RestorationState
    /// The request id that led to the decision.
    public let requestID: String
    public let confirmationID: String?
    public let reasons: [ReasonCode]
    public let decidedAt: Date?
    /// `revoked` or `failed` once a person asked to take a grant back (issue 10).
    public let revocation: Revocation?

    public enum Revocation: String, Sendable, Hashable, Codable {
        case revoked
        case failed
    }

    /// Memberwise (both ledger backends build decisions from their rows).
    package init(
        key: RestorationKey, state: RestorationState, requestID: String, confirmationID: String?,
        reasons: [ReasonCode], decidedAt: Date?, revocation: Revocation?
    ) {
        self.key = key
        self.state = state
        self.requestID = requestID
        self.confirmationID = confirmationID
        self.reasons = reasons
        self.decidedAt = decidedAt
        self.revocation = revocation
    }
}

/// What a worker decides under its claim (`Ledger.decide`).
public enum DecisionInput: Sendable, Hashable {
    /// The console confirmed; `reconciled` when an in-doubt recovery found the grant instead of submitting.
    case granted(confirmationID: String, expiresAt: Date?, reconciled: Bool = false)
    /// Stopped safely; the takeover record goes with the row.
    case halted(TakeoverRecord)
    /// The message was unacceptable (contract §6 rejected codes).
    case rejected(reasons: [ReasonCode])

    var state: RestorationState {
        switch self {
        case .granted: .granted
        case .halted: .halted
        case .rejected: .rejected
        }
    }
}
