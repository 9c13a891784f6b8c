import BreakGlassCore
import Foundation
import GRDB

/// Timestamps are stored as REAL seconds since 1970 (UTC): cheap to write and compare, exact to the microsecond.
func ts(_ date: Date) -> Double { date.timeIntervalSince1970 }
func tsOptional(_ date: Date?) -> Double? { date?.timeIntervalSince1970 }

/// Row mapping and small SQL helpers shared by the ledger's operations.
extension SQLiteLedger {
    static let entryColumns = """
        case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id, payload, resume_count, takeover_id,
        approval_refs, recheck_times, reasons, confirmation_id, grant_expires_at, escalate, in_doubt, reconciled,
        revocation, revoked_by, revoked_at, created_at, updated_at, submitting_at, decided_at
        """

    static func fetchEntry(_ db: Database, _ key: RestorationKey) throws -> LedgerEntry? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(entryColumns) FROM restorations WHERE case_id = ? AND tenant_id = ?"),
            arguments: [key.caseID, key.tenantID]
        ).map(entry(from:))
    }

    static func entry(from row: Row) throws -> LedgerEntry {
        let stateText: String = row["state"]
        guard let state = RestorationState(rawValue: stateText) else {
            throw LedgerError.database(nil, detail: "unknown state in the ledger", underlying: nil)
        }
        let revocationText: String? = row["revocation"]
        return LedgerEntry(
            key: RestorationKey(caseID: row["case_id"], tenantID: row["tenant_id"]),
            state: state,
            epoch: row["epoch"],
            owner: row["owner"],
            leaseExpiresAt: date(row["lease_expires_at"]),
            requestID: row["request_id"],
            resumeCount: row["resume_count"],
            takeoverID: row["takeover_id"],
            approvalRefs: decodeStrings(row["approval_refs"]),
            recheckTimes: decodeStrings(row["recheck_times"]).compactMap(Double.init).map(
                Date.init(timeIntervalSince1970:)),
            reasons: decodeStrings(row["reasons"]).compactMap(ReasonCode.init(rawValue:)),
            confirmationID: row["confirmation_id"],
            grantExpiresAt: date(row["grant_expires_at"]),
            escalate: row["escalate"],
            inDoubt: row["in_doubt"],
            reconciled: row["reconciled"],
            revocation: revocationText.flatMap(Decision.Revocation.init(rawValue:)),
            revokedBy: row["revoked_by"],
            revokedAt: date(row["revoked_at"]),
            createdAt: date(row["created_at"]) ?? Date(timeIntervalSince1970: 0),
            updatedAt: date(row["updated_at"]) ?? Date(timeIntervalSince1970: 0),
            submittingAt: date(row["submitting_at"]),
            decidedAt: date(row["decided_at"]),
            payload: row["payload"])
    }

    /// JSON array of strings, escaped by hand (JSONSerialization is slow on Linux and this is on every write).
    static func encodeStrings(_ values: [String]) -> String {
        var out = "["
        for (index, value) in values.enumerated() {
            if index > 0 { out += "," }
            out += "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            out += "\""
        }
        return out + "]"
    }

    static func decodeStrings(_ text: String?) -> [String] {
        guard let text, let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            return []
        }
        return array.map { element in
            if let string = element as? String { return string }
            if let number = element as? NSNumber { return number.stringValue }
            return String(describing: element)
        }
    }

    static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }

    static func encodeReasons(_ reasons: [ReasonCode]) -> String {
        encodeStrings(reasons.map(\.rawValue))
    }

    static func recordSighting(
        _ db: Database, _ key: RestorationKey, requestID: String, at now: Date, copies: Int = 1
    ) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO request_sightings (case_id, tenant_id, request_id, first_seen_at, last_seen_at, seen_count)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (case_id, tenant_id, request_id)
                DO UPDATE SET last_seen_at = excluded.last_seen_at, seen_count = seen_count + excluded.seen_count
                """
        ).execute(arguments: [key.caseID, key.tenantID, requestID, ts(now), ts(now), copies])
    }

    /// Inserts events in the current transaction. The same event id twice is the same logical event: kept once.
    static func insertEvents(_ db: Database, _ events: [OutboxMessage], at now: Date) throws {
        for event in events {
            guard !event.eventID.isEmpty, !event.routingKey.isEmpty else {
                throw LedgerError.invalidInput("outbox event without id or routing key")
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO outbox (event_id, case_id, tenant_id, routing_key, content_type, body, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (event_id) DO NOTHING
                    """
            ).execute(arguments: [
                event.eventID, event.key.caseID, event.key.tenantID, event.routingKey, event.contentType,
                event.body, ts(now),
            ])
        }
    }

    /// Raises `fenced`/`notFound` when the last UPDATE matched no row.
    static func requireChanged(_ db: Database, _ key: RestorationKey, epoch: Int64) throws {
        guard db.changesCount == 0 else { return }
        let current = try Int64.fetchOne(
            db, sql: "SELECT epoch FROM restorations WHERE case_id = ? AND tenant_id = ?",
            arguments: [key.caseID, key.tenantID])
        guard let current else { throw LedgerError.notFound(key) }
        throw LedgerError.fenced(key, held: epoch, current: current)
    }

    static func fetchTransitionRow(_ db: Database, _ key: RestorationKey) throws -> TransitionRow? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT state, epoch, owner, lease_expires_at, resume_count, request_id FROM restorations
                WHERE case_id = ? AND tenant_id = ?
                """)
        guard let row = try Row.fetchOne(statement, arguments: [key.caseID, key.tenantID]) else { return nil }
        guard let state = RestorationState(rawValue: row[0]) else {
            throw LedgerError.database(key, detail: "unknown state in the ledger", underlying: nil)
        }
        let epoch: Int64 = row[1]
        let owner: String? = row[2]
        let lease: Double? = row[3]
        let resumeCount: Int = row[4]
        return TransitionRow(
            state: state, epoch: epoch, resumeCount: resumeCount, requestID: row[5],
            machine: RestorationStateMachine(
                state: state, epoch: epoch,
                lease: owner.flatMap { owner in
                    lease.map { .init(owner: owner, expiresAt: Date(timeIntervalSince1970: $0)) }
                },
                resumeCount: resumeCount))
    }

    /// Loads the row and checks the caller's epoch before any transition.
    static func fencedEntry(_ db: Database, _ claim: Claim) throws -> TransitionRow {
        guard let entry = try fetchTransitionRow(db, claim.key) else { throw LedgerError.notFound(claim.key) }
        guard entry.epoch == claim.epoch else {
            throw LedgerError.fenced(claim.key, held: claim.epoch, current: entry.epoch)
        }
        return entry
    }

    func remember(_ decision: Decision) {
        guard decision.state.isFinal, configuration.decisionCacheLimit > 0 else { return }
        decisionCache.withLock { cache in
            if cache.count >= configuration.decisionCacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[decision.key] = decision
        }
    }

    func forget(_ key: RestorationKey) {
        _ = decisionCache.withLock { $0.removeValue(forKey: key) }
    }
}
