public import BreakGlassCore
public import Foundation

/// The right to work on one restoration: hand it to every later write; the ledger checks its epoch.
public struct Claim: Sendable, Hashable {
    public let key: RestorationKey
    /// The fencing token. Any write with an epoch that is no longer the row's fails with `LedgerError.Code.fenced`.
    public let epoch: Int64
    public let owner: String
    public let leaseExpiresAt: Date
    /// The state the row was in when this claim was returned.
    public let state: RestorationState
    /// How often a person resumed this key before this claim.
    public let resumeCount: Int
    /// What to do when this claim came from a reclaim (a previous owner died); nil for a fresh claim.
    public let recovery: RestorationStateMachine.Recovery?

    public init(
        key: RestorationKey, epoch: Int64, owner: String, leaseExpiresAt: Date, state: RestorationState,
        resumeCount: Int = 0, recovery: RestorationStateMachine.Recovery? = nil
    ) {
        self.key = key
        self.epoch = epoch
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.state = state
        self.resumeCount = resumeCount
        self.recovery = recovery
    }

    /// The id a halt under this claim records its takeover with (`CASE/TENANT#n`, n = 1 + resumes so far).
    /// Deterministic, so a halted event can carry it before the decision is written.
    public var takeoverID: String { TakeoverEntry.id(for: key, sequence: resumeCount + 1) }
}

/// The answer to `Ledger.claim`.
public enum ClaimOutcome: Sendable, Hashable {
    /// The caller owns the request now (fresh, or taken over from a dead owner: see `Claim.recovery`).
    case claimed(Claim)
    /// A live owner works on it; do not touch it (redelivery while in flight).
    case inProgress(owner: String, leaseExpiresAt: Date)
    /// It was decided already (granted, rejected, resolved, or halted awaiting a person): never run it again.
    case decided(Decision)

    public var claim: Claim? {
        if case .claimed(let claim) = self { return claim }
        return nil
    }
}
