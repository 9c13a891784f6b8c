public import BreakGlassCore
public import Foundation

/// One restoration row as the CLI and the report read it.
public struct LedgerEntry: Sendable, Hashable {
    public let key: RestorationKey
    public let state: RestorationState
    public let epoch: Int64
    public let owner: String?
    public let leaseExpiresAt: Date?
    public let requestID: String
    public let resumeCount: Int
    public let takeoverID: String?
    public let approvalRefs: [String]
    public let recheckTimes: [Date]
    public let reasons: [ReasonCode]
    public let confirmationID: String?
    public let grantExpiresAt: Date?
    public let escalate: Bool
    /// Taken over while `submitting`: the new owner had to reconcile.
    public let inDoubt: Bool
    /// Granted by reconciliation (the console showed the grant) rather than by a confirmation page.
    public let reconciled: Bool
    public let revocation: Decision.Revocation?
    public let revokedBy: String?
    public let revokedAt: Date?
    public let createdAt: Date
    public let updatedAt: Date
    public let submittingAt: Date?
    public let decidedAt: Date?
    /// The original message body when the worker stored it (for recovery and resume).
    public let payload: Data?

    /// The life-cycle value of this row.
    public var machine: RestorationStateMachine {
        RestorationStateMachine(
            state: state, epoch: epoch,
            lease: owner.flatMap { owner in leaseExpiresAt.map { .init(owner: owner, expiresAt: $0) } },
            resumeCount: resumeCount)
    }

    public var decision: Decision? {
        guard state.isDecided else { return nil }
        return Decision(
            key: key, state: state, requestID: requestID, confirmationID: confirmationID, reasons: reasons,
            decidedAt: decidedAt, revocation: revocation)
    }

    /// Memberwise (the other ledger backend builds the same rows).
    package init(
        key: RestorationKey, state: RestorationState, epoch: Int64, owner: String?, leaseExpiresAt: Date?,
        requestID: String, resumeCount: Int, takeoverID: String?, approvalRefs: [String], recheckTimes: [Date],
        reasons: [ReasonCode], confirmationID: String?, grantExpiresAt: Date?, escalate: Bool, inDoubt: Bool,
        reconciled: Bool, revocation: Decision.Revocation?, revokedBy: String?, revokedAt: Date?, createdAt: Date,
        updatedAt: Date, submittingAt: Date?, decidedAt: Date?, payload: Data?
    ) {
        self.key = key
        self.state = state
        self.epoch = epoch
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.requestID = requestID
        self.resumeCount = resumeCount
        self.takeoverID = takeoverID
        self.approvalRefs = approvalRefs
        self.recheckTimes = recheckTimes
        self.reasons = reasons
        self.confirmationID = confirmationID
        self.grantExpiresAt = grantExpiresAt
        self.escalate = escalate
        self.inDoubt = inDoubt
        self.reconciled = reconciled
        self.revocation = revocation
        self.revokedBy = revokedBy
        self.revokedAt = revokedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.submittingAt = submittingAt
        self.decidedAt = decidedAt
        self.payload = payload
    }
}

/// A request id seen for a key (replays with a new `request_id` are visible).
public struct RequestSighting: Sendable, Hashable {
    public let requestID: String
    public let firstSeenAt: Date
    public let lastSeenAt: Date
    public let count: Int

    /// Memberwise (the other ledger backend builds the same rows).
    package init(
        requestID: String, firstSeenAt: Date, lastSeenAt: Date, count: Int
    ) {
        self.requestID = requestID
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.count = count
    }
}

/// One halt and what became of it.
public struct TakeoverEntry: Sendable, Hashable {
    public enum Resolution: String, Sendable, Hashable {
        /// Run again under the same key.
        case resumed
        /// Closed by a person without running again.
        case resolved
    }

    public let id: String
    public let key: RestorationKey
    public let sequence: Int
    public let requestID: String
    public let createdAt: Date
    public let record: TakeoverRecord
    public let resolution: Resolution?
    public let resolvedBy: String?
    public let resolvedAt: Date?
    public let note: String?

    /// `CASE/TENANT#n`: '/' and '#' cannot appear in identifiers, so the id is unambiguous.
    public static func id(for key: RestorationKey, sequence: Int) -> String { "\(key)#\(sequence)" }

    /// Memberwise (the other ledger backend builds the same rows).
    package init(
        id: String, key: RestorationKey, sequence: Int, requestID: String, createdAt: Date, record: TakeoverRecord,
        resolution: Resolution?, resolvedBy: String?, resolvedAt: Date?, note: String?
    ) {
        self.id = id
        self.key = key
        self.sequence = sequence
        self.requestID = requestID
        self.createdAt = createdAt
        self.record = record
        self.resolution = resolution
        self.resolvedBy = resolvedBy
        self.resolvedAt = resolvedAt
        self.note = note
    }
}

/// Counts for `breakglass ledger stats`.
public struct LedgerStats: Sendable, Hashable {
    public var byState: [RestorationState: Int]
    public var inFlightExpired: Int
    public var openTakeovers: Int
    public var pendingEvents: Int
    public var publishedEvents: Int
    public var requestSightings: Int
    public var revoked: Int
    public var journalMode: String
    public var synchronous: Int
    /// When the oldest event not yet confirmed by the broker was written; nil when none waits.
    public var oldestPendingEventAt: Date?
    /// Open takeover records after which access may have been granted.
    public var openEscalatedTakeovers: Int = 0
    /// When the oldest open takeover record was written; nil when none is open.
    public var oldestOpenTakeoverAt: Date?

    /// Memberwise (the other ledger backend builds the same rows).
    package init(
        byState: [RestorationState: Int], inFlightExpired: Int, openTakeovers: Int, pendingEvents: Int,
        publishedEvents: Int, requestSightings: Int, revoked: Int, journalMode: String, synchronous: Int,
        oldestPendingEventAt: Date?, openEscalatedTakeovers: Int = 0, oldestOpenTakeoverAt: Date?
    ) {
        self.byState = byState
        self.inFlightExpired = inFlightExpired
        self.openTakeovers = openTakeovers
        self.pendingEvents = pendingEvents
        self.publishedEvents = publishedEvents
        self.requestSightings = requestSightings
        self.revoked = revoked
        self.journalMode = journalMode
        self.synchronous = synchronous
        self.oldestPendingEventAt = oldestPendingEventAt
        self.openEscalatedTakeovers = openEscalatedTakeovers
        self.oldestOpenTakeoverAt = oldestOpenTakeoverAt
    }
}

/// An outbox row waiting for (or done with) the relay.
public struct OutboxEntry: Sendable, Hashable {
    public let sequence: Int64
    public let message: OutboxMessage
    public let createdAt: Date
    public let publishedAt: Date?
    public let attempts: Int

    /// Memberwise (the other ledger backend builds the same rows).
    package init(
        sequence: Int64, message: OutboxMessage, createdAt: Date, publishedAt: Date?, attempts: Int
    ) {
        self.sequence = sequence
        self.message = message
        self.createdAt = createdAt
        self.publishedAt = publishedAt
        self.attempts = attempts
    }
}
