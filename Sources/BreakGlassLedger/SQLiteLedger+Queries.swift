public import BreakGlassCore
import Foundation
import GRDB

extension SQLiteLedger {
    /// The fast path of every redelivery: was this key decided (granted, rejected, resolved, or halted)?
    ///
    /// Final decisions are immutable (the schema's triggers), so they are served from memory once seen;
    /// anything else is read from the file, so decisions written by other processes are always found.
    /// (A revocation recorded by another process may not show in `Decision.revocation`; `entry(for:)` reads the row.)
    public func decision(for key: RestorationKey) throws -> Decision? {
        if let cached = decisionCache.withLock({ $0[key] }) { return cached }
        let decision = try readOne(key) { db in try Self.fetchDecision(db, key) }
        if let decision { remember(decision) }
        return decision
    }

    static func fetchDecision(_ db: Database, _ key: RestorationKey) throws -> Decision? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT state, request_id, confirmation_id, reasons, decided_at, revocation FROM restorations
                WHERE case_id = ? AND tenant_id = ? AND state IN ('granted', 'rejected', 'resolved', 'halted')
                """)
        guard let row = try Row.fetchOne(statement, arguments: [key.caseID, key.tenantID]),
            let state = RestorationState(rawValue: row["state"])
        else { return nil }
        let revocation: String? = row["revocation"]
        return Decision(
            key: key, state: state, requestID: row["request_id"], confirmationID: row["confirmation_id"],
            reasons: decodeStrings(row["reasons"]).compactMap(ReasonCode.init(rawValue:)),
            decidedAt: date(row["decided_at"]),
            revocation: revocation.flatMap(Decision.Revocation.init(rawValue:)))
    }

    /// `decision(for:)`'s state alone: final decisions from memory, anything else by one indexed read of the
    /// `state` column (no reasons, dates or confirmation decoded): a duplicate of a halted key reads the file every
    /// time, because a person may have resumed it since.
    public func decidedState(for key: RestorationKey) throws -> RestorationState? {
        if let cached = decisionCache.withLock({ $0[key] }) { return cached.state }
        if let stateReader {
            // Its answer, decided or not, stands; only a failure (a lock held past its short wait) reads through the
            // pool, with the pool's own busy handling.
            do { return try stateReader.decidedState(key) } catch {}
        }
        let raw: String? = try readOne(key) { db in
            try String.fetchOne(db.cachedStatement(sql: SQLiteStateReader.sql), arguments: [key.caseID, key.tenantID])
        }
        guard let raw else { return nil }
        guard let state = RestorationState(rawValue: raw) else {
            throw LedgerError.database(key, detail: "unknown state in the ledger", underlying: nil)
        }
        return state
    }

    /// The message a claim remembered under `digest`, with its key's decided state now (one indexed read).
    public func knownMessage(digest: [UInt8]) throws -> KnownMessage? {
        guard digest.count == 32 else { return nil }
        return try readOne(nil) { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT v.case_id, v.tenant_id, v.request_id, v.not_after, v.key_id, v.public_key, r.state
                    FROM verified_messages v
                    LEFT JOIN restorations r ON r.case_id = v.case_id AND r.tenant_id = v.tenant_id
                    WHERE v.digest = ?
                    """)
            guard let row = try Row.fetchOne(statement, arguments: [Data(digest)]) else { return nil }
            let key = RestorationKey(caseID: row[0], tenantID: row[1])
            let state = (row[6] as String?).flatMap(RestorationState.init(rawValue:))
            return KnownMessage(
                record: VerifiedMessageRecord(
                    digest: digest, key: key, requestID: row[2], notAfter: Date(timeIntervalSince1970: row[3]),
                    keyID: row[4], publicKey: row[5]),
                decidedState: state?.isDecided == true ? state : nil)
        }
    }

    public func entry(for key: RestorationKey) throws -> LedgerEntry? {
        try readOne(key) { db in try Self.fetchEntry(db, key) }
    }

    /// Whether the key is in flight (claimed, gate-passed, submitting) under a lease that has lapsed: its owner died
    /// or froze, and whoever holds its message next must take it over (and reconcile a `submitting` one).
    public func isAbandonedInFlight(_ key: RestorationKey) throws -> Bool {
        let now = self.now
        return try readOne(key) { db in
            guard let row = try Self.fetchTransitionRow(db, key) else { return false }
            switch row.machine.liveness(at: now) {
            case .abandoned, .inDoubt: return true
            case .idle, .live: return false
            }
        }
    }

    /// Rows, most recently changed first; `state` nil for all.
    public func entries(state: RestorationState? = nil, limit: Int = 100) throws -> [LedgerEntry] {
        try read(nil) { db in
            let filter = state == nil ? "" : "WHERE state = ?"
            let arguments: StatementArguments = state.map { [$0.rawValue, limit] } ?? [limit]
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT \(Self.entryColumns) FROM restorations \(filter) ORDER BY updated_at DESC, id DESC LIMIT ?",
                arguments: arguments
            ).map(Self.entry(from:))
        }
    }

    /// In-flight rows whose owner's lease expired: `abandoned` ones restart, `inDoubt` ones (submitting) must be
    /// reconciled. A worker's recovery scan claims them with `claim` (which takes them over, epoch + 1).
    public func expiredClaims(limit: Int = 100) throws -> [LedgerEntry] {
        let now = self.now
        return try read(nil) { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.entryColumns) FROM restorations
                    WHERE state IN ('claimed', 'gate-passed', 'submitting') AND lease_expires_at <= ?
                    ORDER BY lease_expires_at LIMIT ?
                    """,
                arguments: [ts(now), limit]
            ).map(Self.entry(from:))
        }
    }

    /// Every request id seen for the key, first seen first.
    public func requestSightings(for key: RestorationKey) throws -> [RequestSighting] {
        try read(key) { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT request_id, first_seen_at, last_seen_at, seen_count FROM request_sightings
                    WHERE case_id = ? AND tenant_id = ? ORDER BY first_seen_at, request_id
                    """,
                arguments: [key.caseID, key.tenantID]
            ).map { row in
                RequestSighting(
                    requestID: row["request_id"],
                    firstSeenAt: Self.date(row["first_seen_at"]) ?? Date(timeIntervalSince1970: 0),
                    lastSeenAt: Self.date(row["last_seen_at"]) ?? Date(timeIntervalSince1970: 0),
                    count: row["seen_count"])
            }
        }
    }

    /// Takeover records, newest first; `key` nil for all keys; `openOnly` for those nobody resolved yet.
    public func takeovers(
        for key: RestorationKey? = nil, openOnly: Bool = false, limit: Int = 100
    ) throws -> [TakeoverEntry] {
        try read(key) { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let key {
                conditions.append("case_id = ? AND tenant_id = ?")
                arguments += [key.caseID, key.tenantID]
            }
            if openOnly { conditions.append("resolution IS NULL") }
            arguments += [limit]
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db, sql: "SELECT * FROM takeovers \(filter) ORDER BY created_at DESC, sequence DESC LIMIT ?",
                arguments: arguments
            ).map(Self.takeover(from:))
        }
    }

    /// One takeover by id (`CASE/TENANT#n`).
    public func takeover(id: String) throws -> TakeoverEntry? {
        try read(nil) { db in
            try Row.fetchOne(db, sql: "SELECT * FROM takeovers WHERE id = ?", arguments: [id]).map(Self.takeover(from:))
        }
    }

    public func stats() throws -> LedgerStats {
        let now = self.now
        let durability = try durability()
        return try read(nil) { db in
            var byState: [RestorationState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM restorations GROUP BY state") {
                if let state = RestorationState(rawValue: row["state"]) { byState[state] = row["n"] }
            }
            return LedgerStats(
                byState: byState,
                inFlightExpired: try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM restorations
                        WHERE state IN ('claimed', 'gate-passed', 'submitting') AND lease_expires_at <= ?
                        """,
                    arguments: [ts(now)]) ?? 0,
                openTakeovers: try Int.fetchOne(db, sql: "SELECT count(*) FROM takeovers WHERE resolution IS NULL")
                    ?? 0,
                pendingEvents: try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE published_at IS NULL") ?? 0,
                publishedEvents: try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
                    ?? 0,
                requestSightings: try Int.fetchOne(db, sql: "SELECT count(*) FROM request_sightings") ?? 0,
                revoked: try Int.fetchOne(db, sql: "SELECT count(*) FROM restorations WHERE revocation = 'revoked'")
                    ?? 0,
                journalMode: durability.journalMode,
                synchronous: durability.synchronous,
                oldestPendingEventAt: Self.date(
                    try Double.fetchOne(db, sql: "SELECT min(created_at) FROM outbox WHERE published_at IS NULL")),
                openEscalatedTakeovers: try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM takeovers WHERE resolution IS NULL AND escalate = 1") ?? 0,
                oldestOpenTakeoverAt: Self.date(
                    try Double.fetchOne(db, sql: "SELECT min(created_at) FROM takeovers WHERE resolution IS NULL")))
        }
    }

    static func takeover(from row: Row) throws -> TakeoverEntry {
        let json: String = row["record"]
        let record = try JSONDecoder().decode(TakeoverRecord.self, from: Data(json.utf8))
        let resolution: String? = row["resolution"]
        return TakeoverEntry(
            id: row["id"], key: RestorationKey(caseID: row["case_id"], tenantID: row["tenant_id"]),
            sequence: row["sequence"], requestID: row["request_id"],
            createdAt: date(row["created_at"]) ?? Date(timeIntervalSince1970: 0), record: record,
            resolution: resolution.flatMap(TakeoverEntry.Resolution.init(rawValue:)), resolvedBy: row["resolved_by"],
            resolvedAt: date(row["resolved_at"]), note: row["note"])
    }
}
