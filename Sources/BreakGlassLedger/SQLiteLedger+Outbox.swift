public import BreakGlassCore
public import Foundation
import GRDB

extension SQLiteLedger {
    /// Events not yet confirmed by the broker, in the order they were written (the order per key is kept).
    public func pendingEvents(limit: Int = 100) throws -> [OutboxEntry] {
        try read(nil) { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT ?",
                arguments: [limit]
            ).map(Self.outboxEntry(from:))
        }
    }

    /// All events of a key, in order (published or not).
    public func events(for key: RestorationKey) throws -> [OutboxEntry] {
        try read(key) { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM outbox WHERE case_id = ? AND tenant_id = ? ORDER BY seq",
                arguments: [key.caseID, key.tenantID]
            ).map(Self.outboxEntry(from:))
        }
    }

    /// The `outcome` events with `result: rejected` written for a request id (what a dead letter's rejection said),
    /// oldest first. Messages rejected before their request id could be read have none.
    public func rejectionEvents(requestID: String) throws -> [OutboxEntry] {
        try read(nil) { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM outbox WHERE routing_key = ?
                    AND json_extract(CAST(body AS TEXT), '$.data.request_id') = ?
                    AND json_extract(CAST(body AS TEXT), '$.data.result') = 'rejected' ORDER BY seq
                    """,
                arguments: [EventType.outcome.rawValue, requestID]
            ).map(Self.outboxEntry(from:))
        }
    }

    /// Marks events published (one transaction): call only after the broker confirmed each of them.
    public func markPublished(sequences: [Int64]) async throws {
        guard !sequences.isEmpty else { return }
        let clock = self.clock
        try await write(nil) { db in
            let now = clock()
            let statement = try db.cachedStatement(
                sql: """
                    UPDATE outbox SET published_at = ?, attempts = attempts + 1, last_attempt_at = ?
                    WHERE seq = ? AND published_at IS NULL
                    """)
            for sequence in sequences { try statement.execute(arguments: [ts(now), ts(now), sequence]) }
        }
    }

    /// Counts a failed publish attempt (for `ledger show` and operators).
    public func recordFailedAttempt(sequence: Int64) async throws {
        let clock = self.clock
        try await write(nil) { db in
            try db.cachedStatement(
                sql:
                    "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ? WHERE seq = ? AND published_at IS NULL"
            ).execute(arguments: [ts(clock()), sequence])
        }
    }

    /// Tries to hold (or renew) the single relay lease shared by all processes on this file.
    public func acquireRelayLease(owner: String, duration: Duration) async throws -> Bool {
        let clock = self.clock
        return try await write(nil) { db in
            let now = clock()
            let expires = now.addingTimeInterval(Self.seconds(duration))
            try db.cachedStatement(
                sql: """
                    INSERT INTO relay_lease (id, owner, expires_at) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                    WHERE relay_lease.owner = excluded.owner OR relay_lease.expires_at <= ?
                    """
            ).execute(arguments: [owner, ts(expires), ts(now)])
            return db.changesCount == 1
        }
    }

    /// Gives the relay lease up (on shutdown) so another process's relay takes over at once.
    public func releaseRelayLease(owner: String) async throws {
        try await write(nil) { db in
            try db.cachedStatement(sql: "DELETE FROM relay_lease WHERE owner = ?").execute(arguments: [owner])
        }
    }

    /// Retention: removes the published outbox events of keys decided for good before `cutoff`.
    /// Restoration rows, request sightings and takeover records are never deleted (dedup must outlive any
    /// redelivery; the schema refuses it too), and nothing of an undecided key is touched.
    public func prune(olderThan cutoff: Date) async throws -> PruneResult {
        try await write(nil) { db in
            try db.cachedStatement(
                sql: """
                    DELETE FROM outbox
                    WHERE published_at IS NOT NULL AND published_at < ?
                      AND EXISTS (
                        SELECT 1 FROM restorations r
                        WHERE r.case_id = outbox.case_id AND r.tenant_id = outbox.tenant_id
                          AND r.state IN ('granted', 'rejected', 'resolved') AND r.decided_at < ?)
                    """
            ).execute(arguments: [ts(cutoff), ts(cutoff)])
            let deleted = db.changesCount
            // A remembered message past its `not_after` can never answer a copy again (expired copies are verified).
            try db.cachedStatement(sql: "DELETE FROM verified_messages WHERE not_after < ?").execute(arguments: [
                ts(cutoff)
            ])
            let pending = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE published_at IS NULL") ?? 0
            return PruneResult(deletedEvents: deleted, keptPendingEvents: pending)
        }
    }

    static func outboxEntry(from row: Row) throws -> OutboxEntry {
        OutboxEntry(
            sequence: row["seq"],
            message: OutboxMessage(
                eventID: row["event_id"], routingKey: row["routing_key"], body: row["body"],
                contentType: row["content_type"],
                key: RestorationKey(caseID: row["case_id"], tenantID: row["tenant_id"])),
            createdAt: date(row["created_at"]) ?? Date(timeIntervalSince1970: 0),
            publishedAt: date(row["published_at"]),
            attempts: row["attempts"])
    }
}
