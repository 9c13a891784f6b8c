import BreakGlassCore
import Foundation
import GRDB

/// Row mapping and small SQL helpers shared by the ledger's operations.
extension Ledger {
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
            leaseExpiresAt: row["lease_expires_at"],
            requestID: row["request_id"],
            resumeCount: row["resume_count"],
            takeoverID: row["takeover_id"],
            approvalRefs: decodeStrings(row["approval_refs"]),
            recheckTimes: decodeStrings(row["recheck_times"]).compactMap(Double.init).map(Date.init(timeIntervalSince1970:)),
            reasons: decodeStrings(row["reasons"]).compactMap(ReasonCode.init(rawValue:)),
            confirmationID: row["confirmation_id"],
            grantExpiresAt: row["grant_expires_at"],
            escalate: row["escalate"],
            inDoubt: row["in_doubt"],
            reconciled: row["reconciled"],
            revocation: revocationText.flatMap(Decision.Revocation.init(rawValue:)),
            revokedBy: row["revoked_by"],
            revokedAt: row["revoked_at"],
            createdAt: row["created_at"],
            updatedAt: row["updated_at"],
            submittingAt: row["submitting_at"],
            decidedAt: row["decided_at"],
            payload: row["payload"])
    }

    /// JSON array of strings (numbers are kept as their text).
    static func encodeStrings(_ values: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: values, options: [])) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeStrings(_ text: String?) -> [String] {
        guard let text, let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else { return [] }
        return array.map { element in
            if let string = element as? String { return string }
            if let number = element as? NSNumber { return number.stringValue }
            return String(describing: element)
        }
    }

    static func encodeTimes(_ times: [Date]) -> String {
        "[" + times.map { String(format: "%.3f", $0.timeIntervalSince1970) }.joined(separator: ",") + "]"
    }

    static func encodeReasons(_ reasons: [ReasonCode]) -> String {
        encodeStrings(reasons.map(\.rawValue))
    }

    static func recordSighting(_ db: Database, _ key: RestorationKey, requestID: String, at now: Date) throws {
        try db.cachedStatement(sql: """
            INSERT INTO request_sightings (case_id, tenant_id, request_id, first_seen_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (case_id, tenant_id, request_id)
            DO UPDATE SET last_seen_at = excluded.last_seen_at, seen_count = seen_count + 1
            """).execute(arguments: [key.caseID, key.tenantID, requestID, now, now])
    }

    /// Inserts events in the current transaction. The same event id twice is the same logical event: kept once.
    static func insertEvents(_ db: Database, _ events: [OutboxMessage], at now: Date) throws {
        for event in events {
            guard !event.eventID.isEmpty, !event.routingKey.isEmpty else {
                throw LedgerError.invalidInput("outbox event without id or routing key")
            }
            try db.cachedStatement(sql: """
                INSERT INTO outbox (event_id, case_id, tenant_id, routing_key, content_type, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (event_id) DO NOTHING
                """).execute(arguments: [
                    event.eventID, event.key.caseID, event.key.tenantID, event.routingKey, event.contentType,
                    event.body, now,
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

    /// Loads the row and checks the caller's epoch before any transition.
    static func fencedEntry(_ db: Database, _ claim: Claim) throws -> LedgerEntry {
        guard let entry = try fetchEntry(db, claim.key) else { throw LedgerError.notFound(claim.key) }
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
