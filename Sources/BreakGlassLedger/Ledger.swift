public import BreakGlassCore
public import Foundation

/// The worker's memory, as a seam with two backends (issue 17):
///
/// - `SQLiteLedger`: one SQLite file shared by the worker processes of one host (the embedded default);
/// - `PostgresLedger`: one PostgreSQL database shared by the workers of every host.
///
/// Both keep the same promises, proven by one conformance suite:
/// - at most one grant per `RestorationKey` (a unique key, and the state machine's edges enforced by the database);
/// - claims with owner, lease and epoch (fencing token); every write checks the epoch;
/// - a transactional outbox: events are written in the same transaction as the state change they announce, and
///   `OutboxRelay` publishes them, one relay at a time (a lease in the database);
/// - a write returns only once durable.
///
/// Leases are judged by one clock per ledger (`clock`): the host's boot clock anchored in the SQLite file, or the
/// PostgreSQL server's `clock_timestamp()`; never a worker's own wall clock.
public protocol Ledger: AnyObject, Sendable {
    /// How long a claim lasts without renewal (`ledger.lease_seconds`).
    var leaseDuration: Duration { get }
    /// How often a person may resume one key.
    var maximumResumes: Int { get }
    /// Now, by the clock leases are judged by. For PostgreSQL, a local estimate of the server's clock that is never
    /// behind it (a lease looks shorter to the worker than it is, never longer).
    var clock: @Sendable () -> Date { get }
    /// Rung after every commit that wrote outbox events, and (PostgreSQL) when another host wrote some.
    var doorbell: Doorbell { get }
    /// Where the ledger lives, for logs and status: a file path or a `postgres://` URL without its password.
    var location: String { get }
    /// `sqlite` or `postgres`.
    var backend: String { get }

    // MARK: Claims and decisions

    /// Records `requestID` for `key` and tries to own the request (see `SQLiteLedger.claim`). `verified`: the
    /// message the caller verified in full, remembered in the same transaction for `knownMessage(digest:)`.
    func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data?, lease: Duration?,
        verified: VerifiedMessageRecord?
    ) async throws -> ClaimOutcome
    /// Records a request id seen for `key` without claiming.
    func recordSighting(_ key: RestorationKey, requestID: String) async throws
    /// Records several keys' sightings in one durable write (each adds `copies` to its count).
    func recordSightings(_ tallies: [SightingTally]) async throws
    /// Extends the claim's lease. Fenced by the epoch.
    func renew(_ claim: Claim, lease: Duration?) async throws -> Claim
    /// claimed → gate-passed.
    func passGate(_ claim: Claim, approvalRefs: [String], checkedAt: Date) async throws -> Claim
    /// gate-passed → submitting, refused unless the lease is live with `margin` to spare (judged by the ledger's
    /// clock, in the write).
    func beginSubmitting(
        _ claim: Claim, recheckedAt: Date, margin: Duration, extendBy: Duration?
    ) async throws -> Claim
    /// Records the outcome and writes `events` to the outbox in the same transaction.
    @discardableResult
    func decide(_ claim: Claim, _ input: DecisionInput, events: [OutboxMessage]) async throws -> Decision
    /// Rejects a message that was never claimed.
    func reject(
        _ key: RestorationKey, requestID: String, reasons: [ReasonCode], events: [OutboxMessage]
    ) async throws -> RejectOutcome

    // MARK: People

    func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, lease: Duration?,
        afterReconciliation: Bool, events: [OutboxMessage]
    ) async throws -> Claim
    @discardableResult
    func resolve(
        _ key: RestorationKey, by person: String, note: String, events: [OutboxMessage]
    ) async throws
        -> Decision
    func recordRevocation(
        _ key: RestorationKey, result: Decision.Revocation, by person: String, reason: String,
        events: [OutboxMessage]
    ) async throws

    // MARK: Outbox

    func enqueueEvents(_ events: [OutboxMessage]) async throws
    /// Events not yet confirmed by the broker, in the order they were written.
    func pendingEvents(limit: Int) async throws -> [OutboxEntry]
    func events(for key: RestorationKey) async throws -> [OutboxEntry]
    func rejectionEvents(requestID: String) async throws -> [OutboxEntry]
    func markPublished(sequences: [Int64]) async throws
    func recordFailedAttempt(sequence: Int64) async throws
    /// Tries to hold (or renew) the one relay lease shared by every process of every host.
    func acquireRelayLease(owner: String, duration: Duration) async throws -> Bool
    func releaseRelayLease(owner: String) async throws
    func prune(olderThan cutoff: Date) async throws -> PruneResult

    // MARK: Reads

    /// The fast path of every redelivery: decided keys are served from memory once seen.
    func decision(for key: RestorationKey) async throws -> Decision?
    /// The state of a decided key (granted, rejected, resolved or halted), nil when it is not decided: the
    /// duplicate's question without the decision's reasons, dates and confirmation (issue 21). The default asks
    /// `decision(for:)`.
    func decidedState(for key: RestorationKey) async throws -> RestorationState?
    /// The message a claim remembered under `digest` (`VerifiedMessageRecord`), with its key's decided state now; nil
    /// when no claim remembered it. One indexed read.
    func knownMessage(digest: [UInt8]) async throws -> KnownMessage?
    func entry(for key: RestorationKey) async throws -> LedgerEntry?
    func isAbandonedInFlight(_ key: RestorationKey) async throws -> Bool
    func entries(state: RestorationState?, limit: Int) async throws -> [LedgerEntry]
    func expiredClaims(limit: Int) async throws -> [LedgerEntry]
    func requestSightings(for key: RestorationKey) async throws -> [RequestSighting]
    func takeovers(for key: RestorationKey?, openOnly: Bool, limit: Int) async throws -> [TakeoverEntry]
    func takeover(id: String) async throws -> TakeoverEntry?
    func stats() async throws -> LedgerStats

    // MARK: Health

    /// Whether the ledger takes writes now. Never throws; the detail names the place and the cause, never a secret.
    func writeProbe() async -> (ok: Bool, detail: String)
    /// Closes connections and stops listening (PostgreSQL); a no-op for SQLite.
    func shutdown() async
}

/// What `Ledger.reject(_:requestID:reasons:events:)` did.
public enum RejectOutcome: Sendable, Hashable {
    /// The key was new (or only received) and is now rejected; the events were written.
    case rejected(Decision)
    /// The key has other work (in flight or decided): its row is untouched and no event was written.
    case keyBusy(RestorationState)
}

/// What `Ledger.prune` removed.
public struct PruneResult: Sendable, Hashable {
    public var deletedEvents: Int
    public var keptPendingEvents: Int

    public init(deletedEvents: Int, keptPendingEvents: Int) {
        self.deletedEvents = deletedEvents
        self.keptPendingEvents = keptPendingEvents
    }
}

// The defaults callers use (a protocol requirement takes no default arguments).
extension Ledger {
    public func decidedState(for key: RestorationKey) async throws -> RestorationState? {
        try await decision(for: key)?.state
    }

    public func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data? = nil
    ) async throws -> ClaimOutcome {
        try await claim(key, requestID: requestID, owner: owner, payload: payload, lease: nil, verified: nil)
    }

    public func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data?, lease: Duration?
    ) async throws -> ClaimOutcome {
        try await claim(key, requestID: requestID, owner: owner, payload: payload, lease: lease, verified: nil)
    }

    public func renew(_ claim: Claim) async throws -> Claim { try await renew(claim, lease: nil) }

    public func beginSubmitting(_ claim: Claim, recheckedAt: Date) async throws -> Claim {
        try await beginSubmitting(claim, recheckedAt: recheckedAt, margin: .zero, extendBy: nil)
    }

    @discardableResult
    public func decide(_ claim: Claim, _ input: DecisionInput) async throws -> Decision {
        try await decide(claim, input, events: [])
    }

    public func reject(_ key: RestorationKey, requestID: String, reasons: [ReasonCode]) async throws -> RejectOutcome {
        try await reject(key, requestID: requestID, reasons: reasons, events: [])
    }

    public func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, lease: Duration? = nil,
        afterReconciliation: Bool = false
    ) async throws -> Claim {
        try await resume(
            key, by: person, note: note, owner: owner, lease: lease, afterReconciliation: afterReconciliation,
            events: [])
    }

    public func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, afterReconciliation: Bool = false,
        events: [OutboxMessage]
    ) async throws -> Claim {
        try await resume(
            key, by: person, note: note, owner: owner, lease: nil, afterReconciliation: afterReconciliation,
            events: events)
    }

    @discardableResult
    public func resolve(_ key: RestorationKey, by person: String, note: String) async throws -> Decision {
        try await resolve(key, by: person, note: note, events: [])
    }

    public func recordRevocation(
        _ key: RestorationKey, result: Decision.Revocation, by person: String, reason: String
    ) async throws {
        try await recordRevocation(key, result: result, by: person, reason: reason, events: [])
    }

    public func entries(limit: Int) async throws -> [LedgerEntry] { try await entries(state: nil, limit: limit) }

    public func takeovers(for key: RestorationKey, limit: Int) async throws -> [TakeoverEntry] {
        try await takeovers(for: key, openOnly: false, limit: limit)
    }

    public func takeovers(openOnly: Bool = false, limit: Int) async throws -> [TakeoverEntry] {
        try await takeovers(for: nil, openOnly: openOnly, limit: limit)
    }
}

extension Duration {
    /// The duration in seconds, for timestamps and leases.
    package var ledgerSeconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
