public import BreakGlassCore
import Foundation
import GRDB

/// The human side: resolving a takeover (resume or close) and recording a revocation (issue 10).
extension SQLiteLedger {
    /// A person resumes a halted request: it is claimed again under the same key by `owner` (epoch + 1,
    /// resumes + 1) and the takeover records who and why. `events` (e.g. `resumed`) go in the same transaction.
    ///
    /// Refused for an escalated halt (access may have been granted) unless `afterReconciliation` says the console
    /// showed no grant; refused after `Configuration.maximumResumes`. Pass `lease: .zero` to leave the claim
    /// immediately takeable by a worker's recovery scan.
    public func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, lease: Duration? = nil,
        afterReconciliation: Bool = false, events: [OutboxMessage] = []
    ) async throws -> Claim {
        try Self.validate(key)
        guard !person.isEmpty, !owner.isEmpty else { throw LedgerError.invalidInput("person or owner") }
        let clock = self.clock
        let maximumResumes = configuration.maximumResumes
        let claim: Claim = try await write(key) { db in
            guard let entry = try Self.fetchEntry(db, key) else { throw LedgerError.notFound(key) }
            guard entry.state == .halted, let takeoverID = entry.takeoverID else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "resume")
            }
            if entry.escalate && !afterReconciliation { throw LedgerError.escalatedHalt(key) }
            let now = clock()
            let expires = self.leaseEnd(from: now, lease)
            var machine = entry.machine
            try machine.resume(owner: owner, leaseExpiresAt: expires, maximumResumes: maximumResumes)
            try Self.resolveTakeover(db, key, takeoverID, .resumed, by: person, note: note, at: now)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, epoch = ?, owner = ?, lease_expires_at = ?,
                        resume_count = resume_count + 1, reasons = '[]', escalate = 0, in_doubt = 0,
                        submitting_at = NULL, decided_at = NULL, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                machine.state.rawValue, machine.epoch, owner, ts(expires), ts(now), key.caseID, key.tenantID,
                entry.epoch,
            ])
            try Self.requireChanged(db, key, epoch: entry.epoch)
            try Self.insertEvents(db, events, at: now)
            return Claim(
                key: key, epoch: machine.epoch, owner: owner, leaseExpiresAt: expires, state: machine.state,
                resumeCount: machine.resumeCount, recovery: .restart)
        }
        if !events.isEmpty { doorbell.ring() }
        return claim
    }

    /// A person closes a halted request without running it again (a terminal mark; it grants nothing).
    @discardableResult
    public func resolve(
        _ key: RestorationKey, by person: String, note: String, events: [OutboxMessage] = []
    ) async throws -> Decision {
        try Self.validate(key)
        guard !person.isEmpty else { throw LedgerError.invalidInput("person") }
        let clock = self.clock
        let decision: Decision = try await write(key) { db in
            guard let entry = try Self.fetchEntry(db, key) else { throw LedgerError.notFound(key) }
            guard entry.state == .halted, let takeoverID = entry.takeoverID else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "resolve")
            }
            let now = clock()
            var machine = entry.machine
            try machine.resolve()
            try Self.resolveTakeover(db, key, takeoverID, .resolved, by: person, note: note, at: now)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, decided_at = ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [machine.state.rawValue, ts(now), ts(now), key.caseID, key.tenantID, entry.epoch])
            try Self.requireChanged(db, key, epoch: entry.epoch)
            try Self.insertEvents(db, events, at: now)
            return Decision(
                key: key, state: .resolved, requestID: entry.requestID, confirmationID: nil, reasons: entry.reasons,
                decidedAt: now, revocation: nil)
        }
        remember(decision)
        if !events.isEmpty { doorbell.ring() }
        return decision
    }

    /// Records a person's revocation of a granted request (a mark beside the grant, never a state change back).
    /// `failed` may later be followed by `revoked`; `revoked` is final.
    public func recordRevocation(
        _ key: RestorationKey, result: Decision.Revocation, by person: String, reason: String,
        events: [OutboxMessage] = []
    ) async throws {
        try Self.validate(key)
        guard !person.isEmpty else { throw LedgerError.invalidInput("person") }
        let clock = self.clock
        try await write(key) { db in
            guard let entry = try Self.fetchEntry(db, key) else { throw LedgerError.notFound(key) }
            guard entry.state == .granted, entry.revocation != .revoked else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "revoke")
            }
            let now = clock()
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET revocation = ?, revoked_by = ?, revoke_reason = ?, revoked_at = ?,
                        updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                result.rawValue, person, reason, ts(now), ts(now), key.caseID, key.tenantID, entry.epoch,
            ])
            try Self.requireChanged(db, key, epoch: entry.epoch)
            try Self.insertEvents(db, events, at: now)
        }
        forget(key)
        if !events.isEmpty { doorbell.ring() }
    }

    private static func resolveTakeover(
        _ db: Database, _ key: RestorationKey, _ id: String, _ resolution: TakeoverEntry.Resolution, by person: String,
        note: String, at now: Date
    ) throws {
        try db.cachedStatement(
            sql: """
                UPDATE takeovers SET resolution = ?, resolved_by = ?, resolved_at = ?, note = ?
                WHERE id = ? AND resolution IS NULL
                """
        ).execute(arguments: [resolution.rawValue, person, ts(now), note, id])
        guard db.changesCount == 1 else {
            throw LedgerError.forbiddenTransition(key, from: .halted, detail: "takeover already resolved")
        }
    }
}
