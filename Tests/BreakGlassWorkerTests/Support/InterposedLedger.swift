import BreakGlassCore
import BreakGlassLedger
import Foundation
import Synchronization

/// A `Ledger` that forwards every call to a real one, with a hook on the one read a test needs to stall: the pipeline
/// tests put time (a network cut, a frozen process) inside a ledger call, which no clock step before or after it can.
final class InterposedLedger: Ledger {
    let inner: any Ledger
    private let entryHook = Mutex<(@Sendable (RestorationKey) async -> Void)?>(nil)
    private let sightingWriteCount = Atomic<Int>(0)
    private let failingSightingWrites = Atomic<Bool>(false)
    private let decidedStateReadCount = Atomic<Int>(0)
    private let knownMessageReadCount = Atomic<Int>(0)
    private let renewalCount = Atomic<Int>(0)
    private let failingRenewalsLeft = Atomic<Int>(0)

    /// How many times `recordSighting` or `recordSightings` wrote.
    var sightingWrites: Int { sightingWriteCount.load(ordering: .relaxed) }

    init(_ inner: any Ledger) { self.inner = inner }

    /// While true, sighting writes fail as a full disk would.
    func setFailingSightingWrites(_ failing: Bool) { failingSightingWrites.store(failing, ordering: .relaxed) }

    /// How many times `renew` was called (failed calls included).
    var renewals: Int { renewalCount.load(ordering: .relaxed) }

    /// The next `count` renewals fail as a busy database would, before reaching the ledger.
    func failNextRenewals(_ count: Int) { failingRenewalsLeft.store(count, ordering: .relaxed) }

    /// How many times `knownMessage(digest:)` was asked.
    var knownMessageReads: Int { knownMessageReadCount.load(ordering: .relaxed) }

    /// How many times `decidedState(for:)` was asked.
    var decidedStateReads: Int { decidedStateReadCount.load(ordering: .relaxed) }

    /// Runs `body` inside the next `entry(for:)` calls, before the read (nil removes it).
    func setEntryHook(_ body: (@Sendable (RestorationKey) async -> Void)?) { entryHook.withLock { $0 = body } }

    var leaseDuration: Duration { inner.leaseDuration }
    var maximumResumes: Int { inner.maximumResumes }
    var clock: @Sendable () -> Date { inner.clock }
    var doorbell: Doorbell { inner.doorbell }
    var location: String { inner.location }
    var backend: String { inner.backend }

    func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data?, lease: Duration?,
        verified: VerifiedMessageRecord?
    ) async throws -> ClaimOutcome {
        try await inner.claim(
            key, requestID: requestID, owner: owner, payload: payload, lease: lease, verified: verified)
    }
    func knownMessage(digest: [UInt8]) async throws -> KnownMessage? {
        knownMessageReadCount.add(1, ordering: .relaxed)
        return try await inner.knownMessage(digest: digest)
    }
    func recordSighting(_ key: RestorationKey, requestID: String) async throws {
        sightingWriteCount.add(1, ordering: .relaxed)
        try await inner.recordSighting(key, requestID: requestID)
    }
    func recordSightings(_ tallies: [SightingTally]) async throws {
        sightingWriteCount.add(1, ordering: .relaxed)
        if failingSightingWrites.load(ordering: .relaxed) {
            throw LedgerError.database(nil, detail: "disk full (test)", underlying: nil)
        }
        try await inner.recordSightings(tallies)
    }
    func renew(_ claim: Claim, lease: Duration?) async throws -> Claim {
        renewalCount.add(1, ordering: .relaxed)
        if failingRenewalsLeft.load(ordering: .relaxed) > 0 {
            failingRenewalsLeft.subtract(1, ordering: .relaxed)
            throw LedgerError.database(claim.key, detail: "database is locked (test)", underlying: nil)
        }
        return try await inner.renew(claim, lease: lease)
    }
    func passGate(_ claim: Claim, approvalRefs: [String], checkedAt: Date) async throws -> Claim {
        try await inner.passGate(claim, approvalRefs: approvalRefs, checkedAt: checkedAt)
    }
    func beginSubmitting(
        _ claim: Claim, recheckedAt: Date, margin: Duration, extendBy: Duration?
    ) async throws -> Claim {
        try await inner.beginSubmitting(claim, recheckedAt: recheckedAt, margin: margin, extendBy: extendBy)
    }
    func decide(_ claim: Claim, _ input: DecisionInput, events: [OutboxMessage]) async throws -> Decision {
        try await inner.decide(claim, input, events: events)
    }
    func reject(
        _ key: RestorationKey, requestID: String, reasons: [ReasonCode], events: [OutboxMessage]
    ) async throws -> RejectOutcome {
        try await inner.reject(key, requestID: requestID, reasons: reasons, events: events)
    }
    func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, lease: Duration?,
        afterReconciliation: Bool, events: [OutboxMessage]
    ) async throws -> Claim {
        try await inner.resume(
            key, by: person, note: note, owner: owner, lease: lease, afterReconciliation: afterReconciliation,
            events: events)
    }
    func resolve(
        _ key: RestorationKey, by person: String, note: String, events: [OutboxMessage]
    ) async throws -> Decision {
        try await inner.resolve(key, by: person, note: note, events: events)
    }
    func recordRevocation(
        _ key: RestorationKey, result: Decision.Revocation, by person: String, reason: String,
        events: [OutboxMessage]
    ) async throws {
        try await inner.recordRevocation(key, result: result, by: person, reason: reason, events: events)
    }
    func enqueueEvents(_ events: [OutboxMessage]) async throws { try await inner.enqueueEvents(events) }
    func pendingEvents(limit: Int) async throws -> [OutboxEntry] { try await inner.pendingEvents(limit: limit) }
    func events(for key: RestorationKey) async throws -> [OutboxEntry] { try await inner.events(for: key) }
    func rejectionEvents(requestID: String) async throws -> [OutboxEntry] {
        try await inner.rejectionEvents(requestID: requestID)
    }
    func markPublished(sequences: [Int64]) async throws { try await inner.markPublished(sequences: sequences) }
    func recordFailedAttempt(sequence: Int64) async throws { try await inner.recordFailedAttempt(sequence: sequence) }
    func acquireRelayLease(owner: String, duration: Duration) async throws -> Bool {
        try await inner.acquireRelayLease(owner: owner, duration: duration)
    }
    func releaseRelayLease(owner: String) async throws { try await inner.releaseRelayLease(owner: owner) }
    func prune(olderThan cutoff: Date) async throws -> PruneResult { try await inner.prune(olderThan: cutoff) }
    func decision(for key: RestorationKey) async throws -> Decision? { try await inner.decision(for: key) }
    func decidedState(for key: RestorationKey) async throws -> RestorationState? {
        decidedStateReadCount.add(1, ordering: .relaxed)
        return try await inner.decidedState(for: key)
    }
    func entry(for key: RestorationKey) async throws -> LedgerEntry? {
        if let hook = entryHook.withLock({ $0 }) { await hook(key) }
        return try await inner.entry(for: key)
    }
    func isAbandonedInFlight(_ key: RestorationKey) async throws -> Bool { try await inner.isAbandonedInFlight(key) }
    func entries(state: RestorationState?, limit: Int) async throws -> [LedgerEntry] {
        try await inner.entries(state: state, limit: limit)
    }
    func expiredClaims(limit: Int) async throws -> [LedgerEntry] { try await inner.expiredClaims(limit: limit) }
    func requestSightings(for key: RestorationKey) async throws -> [RequestSighting] {
        try await inner.requestSightings(for: key)
    }
    func takeovers(for key: RestorationKey?, openOnly: Bool, limit: Int) async throws -> [TakeoverEntry] {
        try await inner.takeovers(for: key, openOnly: openOnly, limit: limit)
    }
    func takeover(id: String) async throws -> TakeoverEntry? { try await inner.takeover(id: id) }
    func stats() async throws -> LedgerStats { try await inner.stats() }
    func writeProbe() async -> (ok: Bool, detail: String) { await inner.writeProbe() }
    func shutdown() async { await inner.shutdown() }
}
