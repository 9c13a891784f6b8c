public import BreakGlassCore
public import BreakGlassLedger
import Foundation
import PostgresNIO

/// The human side: resolving a takeover (resume or close) and recording a revocation (as `SQLiteLedger+Takeover`).
extension PostgresLedger {
    /// A person resumes a halted request: claimed again under the same key by `owner` (epoch + 1, resumes + 1); the
    /// takeover records who and why; `events` go in the same transaction.
    ///
    /// Refused for an escalated halt unless `afterReconciliation`; refused after `Configuration.maximumResumes`.
    public func resume(
        _ key: RestorationKey, by person: String, note: String, owner: String, lease: Duration?,
        afterReconciliation: Bool, events: [OutboxMessage]
    ) async throws -> Claim {
        try Self.validate(key)
        guard !person.isEmpty, !owner.isEmpty else { throw LedgerError.invalidInput("person or owner") }
        let maximumResumes = configuration.maximumResumes
        let claim: Claim = try await write(key) { session in
            guard let entry = try await session.lockEntry(key) else { throw LedgerError.notFound(key) }
            guard entry.state == .halted, let takeoverID = entry.takeoverID else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "resume")
            }
            if entry.escalate && !afterReconciliation { throw LedgerError.escalatedHalt(key) }
            let now = try await session.now()
            let expires = self.leaseEnd(from: now, lease)
            var machine = entry.machine
            try machine.resume(owner: owner, leaseExpiresAt: expires, maximumResumes: maximumResumes)
            try await Self.resolveTakeover(session, key, takeoverID, .resumed, by: person, note: note, at: now)
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue), epoch = \(machine.epoch), owner = \(owner),
                    lease_expires_at = \(expires.timeIntervalSince1970), resume_count = resume_count + 1,
                    reasons = '[]', escalate = false, in_doubt = false, submitting_at = NULL, decided_at = NULL,
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) AND epoch = \(entry.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, key, epoch: entry.epoch)
            try await session.insertEvents(events, at: now)
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
        _ key: RestorationKey, by person: String, note: String, events: [OutboxMessage]
    ) async throws -> Decision {
        try Self.validate(key)
        guard !person.isEmpty else { throw LedgerError.invalidInput("person") }
        let decision: Decision = try await write(key) { session in
            guard let entry = try await session.lockEntry(key) else { throw LedgerError.notFound(key) }
            guard entry.state == .halted, let takeoverID = entry.takeoverID else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "resolve")
            }
            let now = try await session.now()
            var machine = entry.machine
            try machine.resolve()
            try await Self.resolveTakeover(session, key, takeoverID, .resolved, by: person, note: note, at: now)
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue), decided_at = \(now.timeIntervalSince1970),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) AND epoch = \(entry.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, key, epoch: entry.epoch)
            try await session.insertEvents(events, at: now)
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
        events: [OutboxMessage]
    ) async throws {
        try Self.validate(key)
        guard !person.isEmpty else { throw LedgerError.invalidInput("person") }
        try await write(key) { session in
            guard let entry = try await session.lockEntry(key) else { throw LedgerError.notFound(key) }
            guard entry.state == .granted, entry.revocation != .revoked else {
                throw LedgerError.forbiddenTransition(key, from: entry.state, detail: "revoke")
            }
            let now = try await session.now()
            let changed = try await session.run(
                """
                UPDATE restorations SET revocation = \(result.rawValue), revoked_by = \(person),
                    revoke_reason = \(reason), revoked_at = \(now.timeIntervalSince1970),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) AND epoch = \(entry.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, key, epoch: entry.epoch)
            try await session.insertEvents(events, at: now)
        }
        forget(key)
        if !events.isEmpty { doorbell.ring() }
    }

    private static func resolveTakeover(
        _ session: PostgresSession, _ key: RestorationKey, _ id: String, _ resolution: TakeoverEntry.Resolution,
        by person: String, note: String, at now: Date
    ) async throws {
        let changed = try await session.run(
            """
            UPDATE takeovers SET resolution = \(resolution.rawValue), resolved_by = \(person),
                resolved_at = \(now.timeIntervalSince1970), note = \(note)
            WHERE id = \(id) AND resolution IS NULL
            RETURNING 1
            """)
        guard changed == 1 else {
            throw LedgerError.forbiddenTransition(key, from: .halted, detail: "takeover already resolved")
        }
    }
}
