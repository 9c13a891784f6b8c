public import BreakGlassCore
public import Foundation
import GRDB

extension SQLiteLedger {
    /// Records `requestID` for `key` and tries to own the request.
    ///
    /// - A new or received key is claimed (epoch 1 or + 1).
    /// - A live owner's claim is never taken: `.inProgress`.
    /// - An in-flight row whose lease expired is taken over with epoch + 1; `Claim.recovery` says whether to
    ///   restart (nothing submitted) or reconcile (it was `submitting`: never resubmit blindly).
    /// - A decided key answers `.decided` (granted, rejected, resolved, or halted waiting for a person).
    ///
    /// `payload` (the original message body) is stored for recovery and resume when given.
    public func claim(
        _ key: RestorationKey, requestID: String, owner: String, payload: Data? = nil, lease: Duration? = nil,
        verified: VerifiedMessageRecord? = nil
    ) async throws -> ClaimOutcome {
        try Self.validate(key)
        guard Identifier.isValid(requestID) else { throw LedgerError.invalidInput("request id") }
        guard !owner.isEmpty else { throw LedgerError.invalidInput("owner") }
        if let verified, !verified.fits(key, requestID: requestID) {
            throw LedgerError.invalidInput("verified message record")
        }
        let clock = self.clock
        let leaseDuration = lease
        let outcome: ClaimOutcome = try await write(key) { db in
            let now = clock()
            let expires = self.leaseEnd(from: now, leaseDuration)
            try Self.recordSighting(db, key, requestID: requestID, at: now)
            if let verified { try Self.rememberVerified(db, verified, at: now) }
            guard let entry = try Self.fetchEntry(db, key) else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO restorations (case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id,
                            payload, created_at, updated_at)
                        VALUES (?, ?, 'claimed', 1, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    key.caseID, key.tenantID, owner, ts(expires), requestID, payload, ts(now), ts(now),
                ])
                return .claimed(Claim(key: key, epoch: 1, owner: owner, leaseExpiresAt: expires, state: .claimed))
            }
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
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, epoch = ?, owner = ?, lease_expires_at = ?, request_id = ?,
                        payload = coalesce(?, payload), in_doubt = in_doubt OR ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                machine.state.rawValue, machine.epoch, owner, ts(expires), requestID, payload,
                recovery == .reconcile, ts(now), key.caseID, key.tenantID, entry.epoch,
            ])
            try Self.requireChanged(db, key, epoch: entry.epoch)
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
        let clock = self.clock
        try await write(key) { db in try Self.recordSighting(db, key, requestID: requestID, at: clock()) }
    }

    /// Records several keys' sightings in one durable write.
    public func recordSightings(_ tallies: [SightingTally]) async throws {
        try SightingTally.validate(tallies)
        guard !tallies.isEmpty else { return }
        let clock = self.clock
        try await write(nil) { db in
            let now = clock()
            for tally in tallies {
                try Self.recordSighting(db, tally.key, requestID: tally.requestID, at: now, copies: tally.copies)
            }
        }
    }

    /// Extends the claim's lease (a long console flow renews before it expires). Fenced by the epoch.
    public func renew(_ claim: Claim, lease: Duration? = nil) async throws -> Claim {
        let clock = self.clock
        return try await write(claim.key) { db in
            let entry = try Self.fencedEntry(db, claim)
            let now = clock()
            var machine = entry.machine
            try machine.renewLease(epoch: claim.epoch, until: self.leaseEnd(from: now, lease), now: now)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET lease_expires_at = ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                tsOptional(machine.lease?.expiresAt), ts(now), claim.key.caseID, claim.key.tenantID, claim.epoch,
            ])
            try Self.requireChanged(db, claim.key, epoch: claim.epoch)
            return Claim(
                key: claim.key, epoch: claim.epoch, owner: claim.owner,
                leaseExpiresAt: machine.lease?.expiresAt ?? claim.leaseExpiresAt, state: machine.state,
                resumeCount: machine.resumeCount, recovery: claim.recovery)
        }
    }

    /// claimed → gate-passed, recording the approval references used and the time of the gate's reading.
    public func passGate(_ claim: Claim, approvalRefs: [String], checkedAt: Date) async throws -> Claim {
        let clock = self.clock
        return try await write(claim.key) { db in
            let entry = try Self.fencedEntry(db, claim)
            var machine = entry.machine
            try machine.passGate(epoch: claim.epoch)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, approval_refs = ?, recheck_times = json_insert(recheck_times, '$[#]', ?),
                        updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                machine.state.rawValue, Self.encodeStrings(approvalRefs),
                ts(checkedAt), ts(clock()), claim.key.caseID, claim.key.tenantID,
                claim.epoch,
            ])
            try Self.requireChanged(db, claim.key, epoch: claim.epoch)
            return Self.advanced(claim, machine)
        }
    }

    /// gate-passed → submitting. Call it, and let it return, BEFORE the final submit click: from here on a dead
    /// owner leaves the key in doubt, and recovery reconciles instead of submitting again.
    ///
    /// Refused (`lease-lapsed`) unless the claim's lease is live, judged at the write, with `margin` to spare: a
    /// holder whose lease lapsed may already have been taken over and must not click. In the same write the lease is
    /// extended to cover `extendBy` from now (the click plus the confirmation bound), so no one takes the key over
    /// while the click and its confirmation can still land; `nil` keeps the lease as it is.
    public func beginSubmitting(
        _ claim: Claim, recheckedAt: Date, margin: Duration = .zero, extendBy: Duration? = nil
    ) async throws -> Claim {
        let clock = self.clock
        let marginSeconds = Self.seconds(margin)
        let extend = extendBy
        return try await write(claim.key) { db in
            let entry = try Self.fencedEntry(db, claim)
            var machine = entry.machine
            let now = clock()
            try machine.beginSubmitting(
                epoch: claim.epoch, now: now, margin: marginSeconds,
                until: extend.map { self.leaseEnd(from: now, $0) } ?? now)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, recheck_times = json_insert(recheck_times, '$[#]', ?), submitting_at = ?,
                        lease_expires_at = ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                machine.state.rawValue, ts(recheckedAt), ts(now), tsOptional(machine.lease?.expiresAt), ts(now),
                claim.key.caseID, claim.key.tenantID, claim.epoch,
            ])
            try Self.requireChanged(db, claim.key, epoch: claim.epoch)
            return Self.advanced(claim, machine)
        }
    }

    /// Records the outcome under the claim and writes `events` to the outbox in the SAME transaction.
    /// Returns once both are durable. Fenced by the epoch.
    @discardableResult
    public func decide(_ claim: Claim, _ input: DecisionInput, events: [OutboxMessage] = []) async throws -> Decision {
        let clock = self.clock
        let decision: Decision = try await write(claim.key) { db in
            let entry = try Self.fencedEntry(db, claim)
            let now = clock()
            let plan = try DecisionPlan(input, claim: claim, machine: entry.machine, resumeCount: entry.resumeCount)
            if let takeover = plan.takeover {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO takeovers (id, case_id, tenant_id, sequence, request_id, stage, escalate, record,
                            created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    takeover.id, claim.key.caseID, claim.key.tenantID, takeover.sequence, entry.requestID,
                    takeover.record.stage.rawValue, takeover.record.escalate, takeover.json, ts(now),
                ])
            }
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, owner = NULL, lease_expires_at = NULL, confirmation_id = ?,
                        grant_expires_at = ?, reasons = ?, escalate = ?, reconciled = ?,
                        takeover_id = coalesce(?, takeover_id), decided_at = ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                plan.machine.state.rawValue, plan.confirmationID, tsOptional(plan.grantExpiresAt),
                Self.encodeReasons(plan.reasons), plan.escalate, plan.reconciled, plan.takeover?.id, ts(now), ts(now),
                claim.key.caseID, claim.key.tenantID, claim.epoch,
            ])
            try Self.requireChanged(db, claim.key, epoch: claim.epoch)
            try Self.insertEvents(db, events, at: now)
            return plan.decision(key: claim.key, requestID: entry.requestID, at: now)
        }
        remember(decision)
        if !events.isEmpty { doorbell.ring() }
        return decision
    }

    /// Rejects a message that was never claimed (for example `REQUEST_EXPIRED`). A rejected message never
    /// changes a key that other work owns or decided; it is still recorded as a sighting.
    public func reject(
        _ key: RestorationKey, requestID: String, reasons: [ReasonCode], events: [OutboxMessage] = []
    ) async throws -> RejectOutcome {
        try Self.validate(key)
        guard Identifier.isValid(requestID) else { throw LedgerError.invalidInput("request id") }
        let clock = self.clock
        let outcome: RejectOutcome = try await write(key) { db in
            let now = clock()
            try Self.recordSighting(db, key, requestID: requestID, at: now)
            var epoch: Int64 = 0
            if let entry = try Self.fetchEntry(db, key) {
                guard entry.state == .received else { return .keyBusy(entry.state) }
                epoch = entry.epoch
            } else {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO restorations (case_id, tenant_id, state, request_id, created_at, updated_at)
                        VALUES (?, ?, 'received', ?, ?, ?)
                        """
                ).execute(arguments: [key.caseID, key.tenantID, requestID, ts(now), ts(now)])
            }
            var machine = RestorationStateMachine(state: .received, epoch: epoch)
            try machine.reject(epoch: nil)
            try db.cachedStatement(
                sql: """
                    UPDATE restorations SET state = ?, request_id = ?, reasons = ?, decided_at = ?, updated_at = ?
                    WHERE case_id = ? AND tenant_id = ? AND epoch = ?
                    """
            ).execute(arguments: [
                machine.state.rawValue, requestID, Self.encodeReasons(reasons), ts(now), ts(now), key.caseID,
                key.tenantID, epoch,
            ])
            try Self.requireChanged(db, key, epoch: epoch)
            try Self.insertEvents(db, events, at: now)
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

    static func rememberVerified(_ db: Database, _ verified: VerifiedMessageRecord, at now: Date) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO verified_messages (digest, case_id, tenant_id, request_id, not_after, key_id, public_key,
                    created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (digest) DO NOTHING
                """
        ).execute(arguments: [
            Data(verified.digest), verified.key.caseID, verified.key.tenantID, verified.requestID,
            ts(verified.notAfter), verified.keyID, verified.publicKey, ts(now),
        ])
    }
}
