package import BreakGlassCore
package import Foundation

/// What `Ledger.decide` writes for a decision, worked out once for both backends: the state machine's transition
/// (fenced by the claim's epoch) and the row's new fields; for a halt, the takeover record to insert with it.
package struct DecisionPlan {
    /// A halt's takeover record: `id` is `CASE/TENANT#n`, n = 1 + resumes so far.
    package struct Takeover {
        package let id: String
        package let sequence: Int
        package let record: TakeoverRecord
        /// The record as the ledger stores it (sorted keys).
        package let json: String
    }

    package private(set) var machine: RestorationStateMachine
    package private(set) var confirmationID: String?
    package private(set) var grantExpiresAt: Date?
    package private(set) var reasons: [ReasonCode] = []
    package private(set) var escalate = false
    package private(set) var reconciled = false
    package private(set) var takeover: Takeover?

    /// Throws the state machine's refusal (fenced, forbidden) or `invalid-input` for an empty confirmation id.
    package init(_ input: DecisionInput, claim: Claim, machine: RestorationStateMachine, resumeCount: Int) throws {
        self.machine = machine
        switch input {
        case .granted(let confirmation, let expiresAt, let wasReconciled):
            guard !confirmation.isEmpty else { throw LedgerError.invalidInput("confirmation id") }
            try self.machine.grant(epoch: claim.epoch)
            confirmationID = confirmation
            grantExpiresAt = expiresAt
            reconciled = wasReconciled
        case .halted(let record):
            try self.machine.halt(epoch: claim.epoch)
            reasons = record.reasons
            escalate = record.escalate
            let sequence = resumeCount + 1
            takeover = Takeover(
                id: TakeoverEntry.id(for: claim.key, sequence: sequence), sequence: sequence, record: record,
                json: String(decoding: try SortedJSONEncoder(.ledger).encodeBytes(record), as: UTF8.self))
        case .rejected(let codes):
            try self.machine.reject(epoch: claim.epoch)
            reasons = codes
        }
    }

    /// The decision the write returns.
    package func decision(key: RestorationKey, requestID: String, at now: Date) -> Decision {
        Decision(
            key: key, state: machine.state, requestID: requestID, confirmationID: confirmationID, reasons: reasons,
            decidedAt: now, revocation: nil)
    }
}

/// The few columns a transition needs (cheaper than a whole `LedgerEntry` on the hot path); both backends read it.
package struct TransitionRow {
    package let state: RestorationState
    package let epoch: Int64
    package let resumeCount: Int
    package let requestID: String
    package let machine: RestorationStateMachine

    package init(
        state: RestorationState, epoch: Int64, resumeCount: Int, requestID: String, machine: RestorationStateMachine
    ) {
        self.state = state
        self.epoch = epoch
        self.resumeCount = resumeCount
        self.requestID = requestID
        self.machine = machine
    }
}
