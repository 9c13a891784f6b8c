public import BreakGlassCore
public import BreakGlassLedger
public import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Records `requestID` for `key` and tries to own the request (the semantics of `SQLiteLedger.claim`).
    ///
    /// - A new key is inserted claimed (epoch 1) by `INSERT … ON CONFLICT DO NOTHING`: of two hosts racing on one
    ///   key, one inserts; the other waits for its commit, then reads the row and answers `.inProgress`.
    /// - A received key is claimed (epoch + 1); a live owner's claim is never taken (`.inProgress`); an in-flight row
    ///   whose lease expired by the SERVER's clock is taken over with epoch + 1 (`Claim.recovery`).
    /// - A decided key answers `.decided`.
    public func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data?, lease: Duration?,
        verified: VerifiedMessageRecord?
    ) async throws -> ClaimOutcome {
        try Self.validate(key)
        guard Identifier.isValid(requestID) else { throw LedgerError.invalidInput("request id") }
        guard !owner.isEmpty else { throw LedgerError.invalidInput("owner") }
        if let verified, !verified.fits(key, requestID: requestID) {
            throw LedgerError.invalidInput("verified message record")
        }
        let leaseSeconds = (lease ?? configuration.leaseDuration).ledgerSeconds
        let outcome: ClaimOutcome = try await write(key) { session in
            let inserted = try await session.rows(
                """
                INSERT INTO restorations (case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id,
                    payload, created_at, updated_at)
                SELECT \(key.caseID)::text, \(key.tenantID)::text, 'claimed', 1, \(owner)::text,
                    n.t + \(leaseSeconds)::float8, \(requestID)::text, \(payload)::bytea, n.t, n.t
                FROM (SELECT \(serverNow: session.shift) AS t) n
                ON CONFLICT (case_id, tenant_id) DO NOTHING
                RETURNING created_at, lease_expires_at
                """)
            if let row = inserted.first {
                let cells = row.makeRandomAccess()
                let now = Date(timeIntervalSince1970: try cells[0].decode(Double.self))
                let expires = Date(timeIntervalSince1970: try cells[1].decode(Double.self))
                try await session.recordSighting(key, requestID: requestID, at: now)
                if let verified { try await session.rememberVerified(verified, at: now) }
                return .claimed(Claim(key: key, epoch: 1, owner: owner, leaseExpiresAt: expires, state: .claimed))
            }
            guard let entry = try await session.lockEntry(key) else { throw LedgerError.notFound(key) }
            let now = try await session.now()
            let expires = now.addingTimeInterval(leaseSeconds)
            try await session.recordSighting(key, requestID: requestID, at: now)
            if let verified { try await session.rememberVerified(verified, at: now) }
            if let decision = entry.decision { return .decided(decision) }
            var machine = entry.machine
            var recovery: RestorationStateMachine.Recovery?
            switch entry.state {
            case .received:
                try machine.claim(owner: owner, leaseExpiresAt: expires)
            default:
                if case .live(let holder) = machine.liveness(at: now) {
                    return .inProgress(owner: holder, leaseExpiresAt: entry.leaseExpiresAt ?? now)
                }
                recovery = try machine.reclaim(owner: owner, leaseExpiresAt: expires, now: now)
            }
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue), epoch = \(machine.epoch), owner = \(owner),
                    lease_expires_at = \(expires.timeIntervalSince1970), request_id = \(requestID),
                    payload = coalesce(\(payload)::bytea, payload), in_doubt = in_doubt OR \(recovery == .reconcile),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) AND epoch = \(entry.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, key, epoch: entry.epoch)
            return .claimed(
                Claim(
                    key: key, epoch: machine.epoch, owner: owner, leaseExpiresAt: expires, state: machine.state,
                    resumeCount: machine.resumeCount, recovery: recovery))
        }
        if case .decided(let decision) = outcome { remember(decision) }
        return outcome
    }

    /// Records a request id seen for `key` without claiming (e.g. a redelivery answered from `decision(for:)`).
    public func recordSighting(_ key: RestorationKey, requestID: String) async throws {
        try Self.validate(key)
        guard Identifier.isValid(requestID) else { throw LedgerError.invalidInput("request id") }
        try await write(key) { session in
            try await session.recordSighting(key, requestID: requestID, at: try await session.now())
        }
    }

    /// Records several keys' sightings in one transaction.
    public func recordSightings(_ tallies: [SightingTally]) async throws {
        try SightingTally.validate(tallies)
        guard !tallies.isEmpty else { return }
        try await write(nil) { session in
            let now = try await session.now()
            for tally in tallies {
                try await session.recordSighting(tally.key, requestID: tally.requestID, at: now, copies: tally.copies)
            }
        }
    }

    /// Extends the claim's lease (from the server's now). Fenced by the epoch.
    public func renew(_ claim: Claim, lease: Duration?) async throws -> Claim {
        try await write(claim.key) { session in
            let row = try await session.fencedRow(claim)
            let now = try await session.now()
            var machine = row.machine
            try machine.renewLease(epoch: claim.epoch, until: self.leaseEnd(from: now, lease), now: now)
            let changed = try await session.run(
                """
                UPDATE restorations SET lease_expires_at = \(machine.lease?.expiresAt.timeIntervalSince1970),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(claim.key.caseID) AND tenant_id = \(claim.key.tenantID) AND epoch = \(claim.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, claim.key, epoch: claim.epoch)
            return Claim(
                key: claim.key, epoch: claim.epoch, owner: claim.owner,
                leaseExpiresAt: machine.lease?.expiresAt ?? claim.leaseExpiresAt, state: machine.state,
                resumeCount: machine.resumeCount, recovery: claim.recovery)
        }
    }

    /// claimed → gate-passed, recording the approval references used and the time of the gate's reading.
    public func passGate(_ claim: Claim, approvalRefs: [String], checkedAt: Date) async throws -> Claim {
        try await write(claim.key) { session in
            let row = try await session.fencedRow(claim)
            var machine = row.machine
            try machine.passGate(epoch: claim.epoch)
            let now = try await session.now()
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue),
                    approval_refs = to_jsonb(\(approvalRefs)::text[]),
                    recheck_times = recheck_times || to_jsonb(\(checkedAt.timeIntervalSince1970)::float8),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(claim.key.caseID) AND tenant_id = \(claim.key.tenantID) AND epoch = \(claim.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, claim.key, epoch: claim.epoch)
            return Self.advanced(claim, machine)
        }
    }

    /// gate-passed → submitting, refused (`lease-lapsed`) unless the lease is live by the SERVER's clock, read in this
    /// transaction after the row lock, with `margin` to spare; the lease is extended to cover `extendBy` from now.
    public func beginSubmitting(
        _ claim: Claim, recheckedAt: Date, margin: Duration, extendBy: Duration?
    ) async throws -> Claim {
        let marginSeconds = margin.ledgerSeconds
        return try await write(claim.key) { session in
            let row = try await session.fencedRow(claim)
            var machine = row.machine
            let now = try await session.now()
            try machine.beginSubmitting(
                epoch: claim.epoch, now: now, margin: marginSeconds,
                until: extendBy.map { self.leaseEnd(from: now, $0) } ?? now)
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue),
                    recheck_times = recheck_times || to_jsonb(\(recheckedAt.timeIntervalSince1970)::float8),
                    submitting_at = \(now.timeIntervalSince1970),
                    lease_expires_at = \(machine.lease?.expiresAt.timeIntervalSince1970),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(claim.key.caseID) AND tenant_id = \(claim.key.tenantID) AND epoch = \(claim.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, claim.key, epoch: claim.epoch)
            return Self.advanced(claim, machine)
        }
    }

    /// Records the outcome under the claim and writes `events` to the outbox in the SAME transaction. Fenced.
    @discardableResult
    public func decide(_ claim: Claim, _ input: DecisionInput, events: [OutboxMessage]) async throws -> Decision {
        let decision: Decision = try await write(claim.key) { session in
            let row = try await session.fencedRow(claim)
            let now = try await session.now()
            let plan = try DecisionPlan(input, claim: claim, machine: row.machine, resumeCount: row.resumeCount)
            if let takeover = plan.takeover {
                try await session.run(
                    """
                    INSERT INTO takeovers (id, case_id, tenant_id, sequence, request_id, stage, escalate, record,
                        created_at)
                    VALUES (\(takeover.id), \(claim.key.caseID), \(claim.key.tenantID), \(takeover.sequence),
                        \(row.requestID), \(takeover.record.stage.rawValue), \(takeover.record.escalate),
                        \(takeover.json)::jsonb, \(now.timeIntervalSince1970))
                    """)
            }
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(plan.machine.state.rawValue), owner = NULL, lease_expires_at = NULL,
                    confirmation_id = \(plan.confirmationID)::text,
                    grant_expires_at = \(plan.grantExpiresAt?.timeIntervalSince1970)::float8,
                    reasons = to_jsonb(\(plan.reasons.map(\.rawValue))::text[]), escalate = \(plan.escalate),
                    reconciled = \(plan.reconciled), takeover_id = coalesce(\(plan.takeover?.id)::text, takeover_id),
                    decided_at = \(now.timeIntervalSince1970), updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(claim.key.caseID) AND tenant_id = \(claim.key.tenantID) AND epoch = \(claim.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, claim.key, epoch: claim.epoch)
            try await session.insertEvents(events, at: now)
            return plan.decision(key: claim.key, requestID: row.requestID, at: now)
        }
        remember(decision)
        if !events.isEmpty { doorbell.ring() }
        return decision
    }

    /// Rejects a message that was never claimed (e.g. `REQUEST_EXPIRED`): a new or received key becomes rejected;
    /// a key other work owns or decided is left untouched (`.keyBusy`). The request id is recorded either way.
    public func reject(
        _ key: RestorationKey, requestID: String, reasons: [ReasonCode], events: [OutboxMessage]
    ) async throws -> RejectOutcome {
        try Self.validate(key)
        guard Identifier.isValid(requestID) else { throw LedgerError.invalidInput("request id") }
        let outcome: RejectOutcome = try await write(key) { session in
            try await session.run(
                """
                INSERT INTO restorations (case_id, tenant_id, state, request_id, created_at, updated_at)
                SELECT \(key.caseID)::text, \(key.tenantID)::text, 'received', \(requestID)::text, n.t, n.t
                FROM (SELECT \(serverNow: session.shift) AS t) n
                ON CONFLICT (case_id, tenant_id) DO NOTHING
                """)
            guard let entry = try await session.lockEntry(key) else { throw LedgerError.notFound(key) }
            let now = try await session.now()
            try await session.recordSighting(key, requestID: requestID, at: now)
            guard entry.state == .received else { return .keyBusy(entry.state) }
            var machine = RestorationStateMachine(state: .received, epoch: entry.epoch)
            try machine.reject(epoch: nil)
            let changed = try await session.run(
                """
                UPDATE restorations SET state = \(machine.state.rawValue), request_id = \(requestID),
                    reasons = to_jsonb(\(reasons.map(\.rawValue))::text[]), decided_at = \(now.timeIntervalSince1970),
                    updated_at = \(now.timeIntervalSince1970)
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) AND epoch = \(entry.epoch)
                RETURNING 1
                """)
            try await session.requireChanged(changed, key, epoch: entry.epoch)
            try await session.insertEvents(events, at: now)
            return .rejected(
                Decision(
                    key: key, state: .rejected, requestID: requestID, confirmationID: nil, reasons: reasons,
                    decidedAt: now, revocation: nil))
        }
        if case .rejected(let decision) = outcome {
            remember(decision)
            if !events.isEmpty { doorbell.ring() }
        }
        return outcome
    }

    private static func advanced(_ claim: Claim, _ machine: RestorationStateMachine) -> Claim {
        Claim(
            key: claim.key, epoch: claim.epoch, owner: claim.owner,
            leaseExpiresAt: machine.lease?.expiresAt ?? claim.leaseExpiresAt, state: machine.state,
            resumeCount: machine.resumeCount, recovery: claim.recovery)
    }

    /// A decision read from a row: refused (a database error) when the row's state is not a decided one.
    static func decision(
        key: RestorationKey, state: RestorationState, requestID: String, confirmationID: String?,
        reasons: [ReasonCode], decidedAt: Date?, revocation: Decision.Revocation?
    ) throws -> Decision {
        guard state.isDecided else {
            throw LedgerError.database(key, detail: "a decision in state \(state) is not decided", underlying: nil)
        }
        return Decision(
            key: key, state: state, requestID: requestID, confirmationID: confirmationID, reasons: reasons,
            decidedAt: decidedAt, revocation: revocation)
    }
}
