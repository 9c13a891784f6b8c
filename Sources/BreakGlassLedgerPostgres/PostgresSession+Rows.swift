import BreakGlassCore
import BreakGlassLedger
import Foundation
import PostgresNIO

/// Row mapping and the small statements shared by the ledger's operations (as `SQLiteLedger+Rows`).
extension PostgresSession {
    static let entryColumns = """
        case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id, payload, resume_count, takeover_id,
        approval_refs::text, recheck_times::text, reasons::text, confirmation_id, grant_expires_at, escalate, in_doubt,
        reconciled, revocation, revoked_by, revoked_at, created_at, updated_at, submitting_at, decided_at
        """

    static let outboxColumns = """
        seq, event_id, case_id, tenant_id, routing_key, content_type, body, created_at, published_at, attempts
        """

    static let takeoverColumns = """
        id, case_id, tenant_id, sequence, request_id, created_at, record::text, resolution, resolved_by, resolved_at,
        note
        """

    /// The row of `key`, locked for the rest of the transaction (`FOR UPDATE`): concurrent writers of the key wait.
    func lockEntry(_ key: RestorationKey) async throws -> LedgerEntry? {
        try await rows(
            """
            SELECT \(unescaped: Self.entryColumns) FROM restorations
            WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) FOR UPDATE
            """
        ).first.map(Self.entry(from:))
    }

    /// The few columns a transition needs, locked (`FOR UPDATE`).
    func lockTransitionRow(_ key: RestorationKey) async throws -> TransitionRow? {
        guard
            let row = try await rows(
                """
                SELECT state, epoch, owner, lease_expires_at, resume_count, request_id FROM restorations
                WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID) FOR UPDATE
                """
            ).first
        else { return nil }
        let cells = row.makeRandomAccess()
        let state = try Self.state(cells[0].decode(String.self), key: key)
        let epoch = try cells[1].decode(Int64.self)
        let owner = try cells[2].decode(String?.self)
        let lease = try cells[3].decode(Double?.self)
        let resumeCount = try cells[4].decode(Int.self)
        return TransitionRow(
            state: state, epoch: epoch, resumeCount: resumeCount, requestID: try cells[5].decode(String.self),
            machine: RestorationStateMachine(
                state: state, epoch: epoch,
                lease: owner.flatMap { owner in
                    lease.map { .init(owner: owner, expiresAt: Date(timeIntervalSince1970: $0)) }
                },
                resumeCount: resumeCount))
    }

    /// Loads and locks the row and checks the caller's epoch before any transition.
    func fencedRow(_ claim: Claim) async throws -> TransitionRow {
        guard let row = try await lockTransitionRow(claim.key) else { throw LedgerError.notFound(claim.key) }
        guard row.epoch == claim.epoch else {
            throw LedgerError.fenced(claim.key, held: claim.epoch, current: row.epoch)
        }
        return row
    }

    /// Raises `fenced`/`notFound` when the guarded UPDATE changed no row (`changed` rows returned).
    func requireChanged(_ changed: Int, _ key: RestorationKey, epoch: Int64) async throws {
        guard changed == 0 else { return }
        let current = try await rows(
            "SELECT epoch FROM restorations WHERE case_id = \(key.caseID) AND tenant_id = \(key.tenantID)"
        ).first.map { try $0.makeRandomAccess()[0].decode(Int64.self) }
        guard let current else { throw LedgerError.notFound(key) }
        throw LedgerError.fenced(key, held: epoch, current: current)
    }

    func rememberVerified(_ verified: VerifiedMessageRecord, at now: Date) async throws {
        try await run(
            """
            INSERT INTO verified_messages (digest, case_id, tenant_id, request_id, not_after, key_id, public_key,
                created_at)
            VALUES (\(Data(verified.digest)), \(verified.key.caseID), \(verified.key.tenantID), \(verified.requestID),
                \(verified.notAfter.timeIntervalSince1970), \(verified.keyID), \(verified.publicKey),
                \(now.timeIntervalSince1970))
            ON CONFLICT (digest) DO NOTHING
            """)
    }

    func recordSighting(_ key: RestorationKey, requestID: String, at now: Date, copies: Int = 1) async throws {
        let seconds = now.timeIntervalSince1970
        try await run(
            """
            INSERT INTO request_sightings (case_id, tenant_id, request_id, first_seen_at, last_seen_at, seen_count)
            VALUES (\(key.caseID), \(key.tenantID), \(requestID), \(seconds), \(seconds), \(Int32(clamping: copies)))
            ON CONFLICT (case_id, tenant_id, request_id)
            DO UPDATE SET last_seen_at = excluded.last_seen_at,
                seen_count = request_sightings.seen_count + excluded.seen_count
            """)
    }

    /// Inserts events in the current transaction (the same event id twice is the same logical event: kept once),
    /// then `pg_notify`, delivered to every listener when the transaction commits.
    func insertEvents(_ events: [OutboxMessage], at now: Date) async throws {
        guard !events.isEmpty else { return }
        let seconds = now.timeIntervalSince1970
        for event in events {
            guard !event.eventID.isEmpty, !event.routingKey.isEmpty else {
                throw LedgerError.invalidInput("outbox event without id or routing key")
            }
            try await run(
                """
                INSERT INTO outbox (event_id, case_id, tenant_id, routing_key, content_type, body, created_at)
                VALUES (\(event.eventID), \(event.key.caseID), \(event.key.tenantID), \(event.routingKey),
                    \(event.contentType), \(event.body), \(seconds))
                ON CONFLICT (event_id) DO NOTHING
                """)
        }
        try await run("SELECT pg_notify(\(PostgresLedgerSchema.outboxChannel), '')")
    }

    // MARK: - Decoding

    static func entry(from row: PostgresRow) throws -> LedgerEntry {
        let cells = row.makeRandomAccess()
        let key = RestorationKey(caseID: try cells[0].decode(String.self), tenantID: try cells[1].decode(String.self))
        let revocation = try cells[18].decode(String?.self)
        return LedgerEntry(
            key: key,
            state: try state(cells[2].decode(String.self), key: key),
            epoch: try cells[3].decode(Int64.self),
            owner: try cells[4].decode(String?.self),
            leaseExpiresAt: date(try cells[5].decode(Double?.self)),
            requestID: try cells[6].decode(String.self),
            resumeCount: try cells[8].decode(Int.self),
            takeoverID: try cells[9].decode(String?.self),
            approvalRefs: strings(try cells[10].decode(String.self)),
            recheckTimes: numbers(try cells[11].decode(String.self)).map(Date.init(timeIntervalSince1970:)),
            reasons: strings(try cells[12].decode(String.self)).compactMap(ReasonCode.init(rawValue:)),
            confirmationID: try cells[13].decode(String?.self),
            grantExpiresAt: date(try cells[14].decode(Double?.self)),
            escalate: try cells[15].decode(Bool.self),
            inDoubt: try cells[16].decode(Bool.self),
            reconciled: try cells[17].decode(Bool.self),
            revocation: revocation.flatMap(Decision.Revocation.init(rawValue:)),
            revokedBy: try cells[19].decode(String?.self),
            revokedAt: date(try cells[20].decode(Double?.self)),
            createdAt: date(try cells[21].decode(Double.self)) ?? Date(timeIntervalSince1970: 0),
            updatedAt: date(try cells[22].decode(Double.self)) ?? Date(timeIntervalSince1970: 0),
            submittingAt: date(try cells[23].decode(Double?.self)),
            decidedAt: date(try cells[24].decode(Double?.self)),
            payload: try cells[7].decode(Data?.self))
    }

    static func outboxEntry(from row: PostgresRow) throws -> OutboxEntry {
        let cells = row.makeRandomAccess()
        return OutboxEntry(
            sequence: try cells[0].decode(Int64.self),
            message: OutboxMessage(
                eventID: try cells[1].decode(String.self), routingKey: try cells[4].decode(String.self),
                body: try cells[6].decode(Data.self), contentType: try cells[5].decode(String.self),
                key: RestorationKey(
                    caseID: try cells[2].decode(String.self), tenantID: try cells[3].decode(String.self))),
            createdAt: Date(timeIntervalSince1970: try cells[7].decode(Double.self)),
            publishedAt: date(try cells[8].decode(Double?.self)),
            attempts: try cells[9].decode(Int.self))
    }

    static func takeover(from row: PostgresRow) throws -> TakeoverEntry {
        let cells = row.makeRandomAccess()
        let json = try cells[6].decode(String.self)
        let record = try JSONDecoder().decode(TakeoverRecord.self, from: Data(json.utf8))
        let resolution = try cells[7].decode(String?.self)
        return TakeoverEntry(
            id: try cells[0].decode(String.self),
            key: RestorationKey(caseID: try cells[1].decode(String.self), tenantID: try cells[2].decode(String.self)),
            sequence: try cells[3].decode(Int.self), requestID: try cells[4].decode(String.self),
            createdAt: Date(timeIntervalSince1970: try cells[5].decode(Double.self)), record: record,
            resolution: resolution.flatMap(TakeoverEntry.Resolution.init(rawValue:)),
            resolvedBy: try cells[8].decode(String?.self), resolvedAt: date(try cells[9].decode(Double?.self)),
            note: try cells[10].decode(String?.self))
    }

    static func state(_ text: String, key: RestorationKey?) throws -> RestorationState {
        guard let state = RestorationState(rawValue: text) else {
            throw LedgerError.database(key, detail: "unknown state in the ledger", underlying: nil)
        }
        return state
    }

    static func date(_ seconds: Double?) -> Date? { seconds.map(Date.init(timeIntervalSince1970:)) }

    /// A JSON array of strings (`approval_refs`, `reasons`); [] when unreadable, as SQLite's.
    static func strings(_ json: String?) -> [String] {
        guard let json, let values = try? JSONDecoder().decode([String].self, from: Data(json.utf8)) else { return [] }
        return values
    }

    /// A JSON array of numbers (`recheck_times`); [] when unreadable.
    static func numbers(_ json: String?) -> [Double] {
        guard let json, let values = try? JSONDecoder().decode([Double].self, from: Data(json.utf8)) else { return [] }
        return values
    }
}
