public import BreakGlassCore
public import BreakGlassLedger
public import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Writes events to the outbox on their own, durably, for outcomes that belong to no ledger row (a message
    /// rejected before its key could be trusted, a rejected replay of a key other work owns).
    ///
    /// The rows of the events' keys that exist are locked first (in key order), so the events of one key take
    /// sequence numbers in the order their transactions commit.
    public func enqueueEvents(_ events: [OutboxMessage]) async throws {
        guard !events.isEmpty else { return }
        let keys = Set(events.map(\.key)).sorted { ($0.caseID, $0.tenantID) < ($1.caseID, $1.tenantID) }
        try await write(nil) { session in
            for key in keys {
                try await session.run(
                    """
                    SELECT 1 FROM restorations WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)
                    FOR UPDATE
                    """)
            }
            try await session.insertEvents(events, at: try await session.now())
        }
        doorbell.ring()
    }

    /// Events not yet confirmed by the broker, in the order they were written (`seq`).
    public func pendingEvents(limit: Int) async throws -> [OutboxEntry] {
        try await autocommit(nil) { session in
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.outboxColumns) FROM outbox WHERE published_at IS NULL
                ORDER BY seq LIMIT \(limit)
                """
            ).map(PostgresSession.outboxEntry(from:))
        }
    }

    /// All events of a key, in order (published or not).
    public func events(for key: RestorationKey) async throws -> [OutboxEntry] {
        try await autocommit(key) { session in
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.outboxColumns) FROM outbox
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) ORDER BY seq
                """
            ).map(PostgresSession.outboxEntry(from:))
        }
    }

    /// The `outcome` events with `result: rejected` written for a request id, oldest first. A body that is not JSON
    /// is skipped (`breakglass_try_json`), never an error.
    public func rejectionEvents(requestID: String) async throws -> [OutboxEntry] {
        try await autocommit(nil) { session in
            try await session.rows(
                """
                SELECT \(unescaped: PostgresSession.outboxColumns) FROM (
                    SELECT *, breakglass_try_json(body) AS json FROM outbox
                    WHERE routing_key = \(EventType.outcome.rawValue)
                ) o
                WHERE o.json -> 'data' ->> 'request_id' = \(requestID)
                  AND o.json -> 'data' ->> 'result' = 'rejected'
                ORDER BY seq
                """
            ).map(PostgresSession.outboxEntry(from:))
        }
    }

    /// Marks events published (one statement, one transaction): call only after the broker confirmed each of them.
    public func markPublished(sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        _ = try await autocommit(nil) { session in
            try await session.run(
                """
                UPDATE outbox SET published_at = n.t, attempts = attempts + 1, last_attempt_at = n.t
                FROM (SELECT \(serverNow: session.shift) AS t) n
                WHERE seq = ANY(\(sequences)::int8[]) AND published_at IS NULL
                """)
        }
    }

    /// Counts a failed publish attempt (for `ledger show` and operators).
    public func recordFailedAttempt(sequence: Int64) async throws {
        _ = try await autocommit(nil) { session in
            try await session.run(
                """
                UPDATE outbox SET attempts = attempts + 1, last_attempt_at = \(serverNow: session.shift)
                WHERE seq = \(sequence) AND published_at IS NULL
                """)
        }
    }

    /// Tries to hold (or renew) the one relay lease shared by every process of every host, judged by the server's
    /// clock.
    public func acquireRelayLease(owner: String, duration: Duration) async throws -> Bool {
        guard !owner.isEmpty else { throw LedgerError.invalidInput("owner") }
        return try await autocommit(nil) { session in
            try await session.run(
                """
                INSERT INTO relay_lease (id, owner, expires_at)
                SELECT 1, \(owner)::text, n.t + \(duration.ledgerSeconds)::float8
                FROM (SELECT \(serverNow: session.shift) AS t) n
                ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE relay_lease.owner = excluded.owner
                   OR relay_lease.expires_at <= \(serverNow: session.shift)
                RETURNING 1
                """) == 1
        }
    }

    /// Gives the relay lease up (on shutdown) so another process's relay takes over at once.
    public func releaseRelayLease(owner: String) async throws {
        _ = try await autocommit(nil) { session in
            try await session.run("DELETE FROM relay_lease WHERE owner = \(owner)")
        }
    }

    /// Retention: removes the published outbox events of keys decided for good before `cutoff`. Restoration rows,
    /// request sightings and takeover records are never deleted, and nothing of an undecided key is touched.
    public func prune(olderThan cutoff: Date) async throws -> PruneResult {
        let seconds = cutoff.timeIntervalSince1970
        return try await write(nil) { session in
            let deleted =
                try await session.rows(
                    """
                    WITH deleted AS (
                        DELETE FROM outbox
                        WHERE published_at IS NOT NULL AND published_at < \(seconds)
                          AND EXISTS (
                            SELECT 1 FROM restorations r
                            WHERE r.case_id = outbox.case_id AND r.tenant_id = outbox.tenant_id
                              AND r.state IN ('granted', 'rejected', 'resolved') AND r.decided_at < \(seconds))
                        RETURNING 1)
                    SELECT count(*) FROM deleted
                    """
                ).first.map { try $0.makeRandomAccess()[0].decode(Int.self) } ?? 0
            // A remembered message past its `not_after` can never answer a copy again (expired copies are verified).
            try await session.run("DELETE FROM verified_messages WHERE not_after < \(seconds)")
            let pending =
                try await session.rows("SELECT count(*) FROM outbox WHERE published_at IS NULL").first.map {
                    try $0.makeRandomAccess()[0].decode(Int.self)
                } ?? 0
            return PruneResult(deletedEvents: deleted, keptPendingEvents: pending)
        }
    }
}
