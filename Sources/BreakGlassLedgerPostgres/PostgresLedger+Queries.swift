public import BreakGlassCore
public import BreakGlassLedger
import Foundation
import PostgresNIO

extension PostgresLedger {
    /// The fast path of every redelivery: was this key decided (granted, rejected, resolved, or halted)?
    ///
    /// Final decisions are immutable (the schema's triggers), so they are served from memory once seen, without a
    /// query; anything else is read from the database, so decisions written by other hosts are always found.
    public func decision(for key: RestorationKey) async throws -> Decision? {
        if let cached = decisionCache.withLock({ $0[key] }) { return cached }
        let decision: Decision? = try await autocommit(key) { session in
            guard
                let row = try await session.rows(
                    """
                    SELECT state, request_id, confirmation_id, reasons::text, decided_at, revocation FROM restorations
                    WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)
                      AND state IN ('granted', 'rejected', 'resolved', 'halted')
                    """
                ).first
            else { return nil }
            let cells = row.makeRandomAccess()
            let revocation = try cells[5].decode(String?.self)
            return try Self.decision(
                key: key, state: PostgresSession.state(cells[0].decode(String.self), key: key),
                requestID: try cells[1].decode(String.self), confirmationID: try cells[2].decode(String?.self),
                reasons: PostgresSession.strings(try cells[3].decode(String.self)).compactMap(
                    ReasonCode.init(rawValue:)),
                decidedAt: PostgresSession.date(try cells[4].decode(Double?.self)),
                revocation: revocation.flatMap(Decision.Revocation.init(rawValue:)))
        }
        if let decision { remember(decision) }
        return decision
    }

    /// `decision(for:)`'s state alone: final decisions from memory, anything else by one query of the `state`
    /// column (a duplicate of a halted key asks every time: a person on any host may have resumed it since).
    public func decidedState(for key: RestorationKey) async throws -> RestorationState? {
        if let cached = decisionCache.withLock({ $0[key] }) { return cached.state }
        return try await autocommit(key) { session in
            guard
                let row = try await session.rows(
                    """
                    SELECT state FROM restorations
                    WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)
                      AND state IN ('granted', 'rejected', 'resolved', 'halted')
                    """
                ).first
            else { return nil }
            return try PostgresSession.state(row.makeRandomAccess()[0].decode(String.self), key: key)
        }
    }

    /// The message a claim remembered under `digest`, with its key's decided state now (one indexed query).
    public func knownMessage(digest: [UInt8]) async throws -> KnownMessage? {
        guard digest.count == 32 else { return nil }
        return try await autocommit(nil) { session in
            guard
                let row = try await session.rows(
                    """
                    SELECT v.case_id, v.tenant_id, v.request_id, v.not_after, v.key_id, v.public_key, r.state
                    FROM verified_messages v
                    LEFT JOIN restorations r ON r.case_id = v.case_id AND r.tenant_id = v.tenant_id
                    WHERE v.digest = \(Data(digest))
                    """
                ).first
            else { return nil }
            let cells = row.makeRandomAccess()
            let key = RestorationKey(
                caseID: try cells[0].decode(String.self), tenantID: try cells[1].decode(String.self))
            let state = try cells[6].decode(String?.self).flatMap(RestorationState.init(rawValue:))
            return KnownMessage(
                record: VerifiedMessageRecord(
                    digest: digest, key: key, requestID: try cells[2].decode(String.self),
                    notAfter: Date(timeIntervalSince1970: try cells[3].decode(Double.self)),
                    keyID: try cells[4].decode(String.self), publicKey: try cells[5].decode(Data.self)),
                decidedState: state?.isDecided == true ? state : nil)
        }
    }

    /// The row of `key`, nil when the key was never seen.
    public func entry(for key: RestorationKey) async throws -> LedgerEntry? {
        try await autocommit(key) { session in
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.entryColumns) FROM restorations
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)
                """
            ).first.map(PostgresSession.entry(from:))
        }
    }

    /// Whether the key is in flight under a lease that has lapsed by the server's clock (read in the same statement).
    public func isAbandonedInFlight(_ key: RestorationKey) async throws -> Bool {
        try await autocommit(key) { session in
            guard
                let row = try await session.rows(
                    """
                    SELECT state, epoch, owner, lease_expires_at, resume_count, \(serverNow: session.shift)
                    FROM restorations WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)
                    """
                ).first
            else { return false }
            let cells = row.makeRandomAccess()
            let state = try PostgresSession.state(cells[0].decode(String.self), key: key)
            let owner = try cells[2].decode(String?.self)
            let lease = try cells[3].decode(Double?.self)
            let machine = RestorationStateMachine(
                state: state, epoch: try cells[1].decode(Int64.self),
                lease: owner.flatMap { owner in
                    lease.map { .init(owner: owner, expiresAt: Date(timeIntervalSince1970: $0)) }
                },
                resumeCount: try cells[4].decode(Int.self))
            switch machine.liveness(at: Date(timeIntervalSince1970: try cells[5].decode(Double.self))) {
            case .abandoned, .inDoubt: return true
            case .idle, .live: return false
            }
        }
    }

    /// Rows, most recently changed first; `state` nil for all.
    public func entries(state: RestorationState?, limit: Int) async throws -> [LedgerEntry] {
        try await autocommit(nil) { session in
            let rows: [PostgresRow]
            if let state {
                rows = try await session.rows(
                    """
                    SELECT \(unescaped: PostgresSession.entryColumns) FROM restorations WHERE state = \(state.rawValue)
                    ORDER BY updated_at DESC, id DESC LIMIT \(limit)
                    """)
            } else {
                rows = try await session.rows(
                    """
                    SELECT \(unescaped: PostgresSession.entryColumns) FROM restorations
                    ORDER BY updated_at DESC, id DESC LIMIT \(limit)
                    """)
            }
            return try rows.map(PostgresSession.entry(from:))
        }
    }

    /// In-flight rows whose owner's lease expired by the server's clock: `abandoned` ones restart, `inDoubt` ones
    /// (submitting) must be reconciled; a worker's recovery scan claims them with `claim`.
    public func expiredClaims(limit: Int) async throws -> [LedgerEntry] {
        try await autocommit(nil) { session in
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.entryColumns) FROM restorations
                WHERE state IN ('claimed', 'gate-passed', 'submitting')
                  AND lease_expires_at <= \(serverNow: session.shift)
                ORDER BY lease_expires_at LIMIT \(limit)
                """
            ).map(PostgresSession.entry(from:))
        }
    }

    /// Every request id seen for the key, first seen first.
    public func requestSightings(for key: RestorationKey) async throws -> [RequestSighting] {
        try await autocommit(key) { session in
            try await session.rows(
                """
                SELECT request_id, first_seen_at, last_seen_at, seen_count FROM request_sightings
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) ORDER BY first_seen_at, request_id
                """
            ).map { row in
                let cells = row.makeRandomAccess()
                return RequestSighting(
                    requestID: try cells[0].decode(String.self),
                    firstSeenAt: Date(timeIntervalSince1970: try cells[1].decode(Double.self)),
                    lastSeenAt: Date(timeIntervalSince1970: try cells[2].decode(Double.self)),
                    count: try cells[3].decode(Int.self))
            }
        }
    }

    /// Takeover records, newest first; `key` nil for all keys; `openOnly` for those nobody resolved yet.
    public func takeovers(for key: RestorationKey?, openOnly: Bool, limit: Int) async throws -> [TakeoverEntry] {
        try await autocommit(key) { session in
            // NULL parameters select everything: one statement for the four combinations.
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.takeoverColumns) FROM takeovers
                WHERE (\(key?.caseID)::text IS NULL OR (case_id = \(key?.caseID)::text
                        AND tenant_id = \(key?.tenantID)::text))
                  AND (NOT \(openOnly) OR resolution IS NULL)
                ORDER BY created_at DESC, sequence DESC LIMIT \(limit)
                """
            ).map(PostgresSession.takeover(from:))
        }
    }

    /// One takeover by id (`CASE/TENANT#n`).
    public func takeover(id: String) async throws -> TakeoverEntry? {
        try await autocommit(nil) { session in
            try await session.rows(
                "SELECT \(unescaped: PostgresSession.takeoverColumns) FROM takeovers WHERE id = \(id)"
            ).first.map(PostgresSession.takeover(from:))
        }
    }

    /// The figures of `breakglass ledger stats`, read in one statement (one snapshot). `journalMode` is `postgres`;
    /// `synchronous` is 2 when `synchronous_commit` makes commits durable (on, remote_write, remote_apply), 1 for
    /// `local`, 0 for `off`.
    public func stats() async throws -> LedgerStats {
        try await autocommit(nil) { session in
            guard
                let row = try await session.rows(
                    """
                    SELECT
                        (SELECT count(*) FROM restorations WHERE state IN ('claimed', 'gate-passed', 'submitting')
                            AND lease_expires_at <= \(serverNow: session.shift)),
                        (SELECT count(*) FROM takeovers WHERE resolution IS NULL),
                        (SELECT count(*) FROM outbox WHERE published_at IS NULL),
                        (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL),
                        (SELECT count(*) FROM request_sightings),
                        (SELECT count(*) FROM restorations WHERE revocation = 'revoked'),
                        current_setting('synchronous_commit'),
                        (SELECT min(created_at) FROM outbox WHERE published_at IS NULL),
                        (SELECT count(*) FROM takeovers WHERE resolution IS NULL AND escalate),
                        (SELECT min(created_at) FROM takeovers WHERE resolution IS NULL),
                        (SELECT coalesce(jsonb_object_agg(state, n), '{}')::text
                            FROM (SELECT state, count(*) AS n FROM restorations GROUP BY state) s)
                    """
                ).first
            else { throw LedgerError.database(nil, detail: "no statistics row", underlying: nil) }
            let cells = row.makeRandomAccess()
            let counts =
                (try? JSONDecoder().decode([String: Int].self, from: Data(try cells[10].decode(String.self).utf8)))
                ?? [:]
            var byState: [RestorationState: Int] = [:]
            for (state, count) in counts {
                if let state = RestorationState(rawValue: state) { byState[state] = count }
            }
            let synchronousCommit = try cells[6].decode(String.self)
            let synchronous =
                Self.durableCommitSettings.contains(synchronousCommit) ? 2 : (synchronousCommit == "local" ? 1 : 0)
            return LedgerStats(
                byState: byState,
                inFlightExpired: try cells[0].decode(Int.self),
                openTakeovers: try cells[1].decode(Int.self),
                pendingEvents: try cells[2].decode(Int.self),
                publishedEvents: try cells[3].decode(Int.self),
                requestSightings: try cells[4].decode(Int.self),
                revoked: try cells[5].decode(Int.self),
                journalMode: "postgres",
                synchronous: synchronous,
                oldestPendingEventAt: PostgresSession.date(try cells[7].decode(Double?.self)),
                openEscalatedTakeovers: try cells[8].decode(Int.self),
                oldestOpenTakeoverAt: PostgresSession.date(try cells[9].decode(Double?.self)))
        }
    }
}
