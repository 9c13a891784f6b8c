public import BreakGlassCore
import Foundation
import GRDB

extension SQLiteLedger {
    /// For crash drills only (`breakglass ledger-stress hold`): opens a write transaction, writes a claimed row
    /// for `key` and one outbox event, calls `inside` (which is expected to block until the process is killed),
    /// and rolls back if `inside` ever returns. Used to prove that a process killed in the middle of a
    /// transaction leaves neither a partial row nor a stuck lock behind.
    public func crashDrillHoldTransaction(_ key: RestorationKey, inside: @escaping @Sendable () -> Void) throws {
        try Self.validate(key)
        let now = self.now
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(
                    sql: """
                        INSERT INTO restorations (case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id,
                            created_at, updated_at)
                        VALUES (?, ?, 'claimed', 1, 'crash-drill', ?, 'REQ-crash-drill', ?, ?)
                        """,
                    arguments: [key.caseID, key.tenantID, ts(now.addingTimeInterval(3600)), ts(now), ts(now)])
                try Self.insertEvents(
                    db,
                    [
                        OutboxMessage(
                            eventID: "crash-drill-\(key)", routingKey: "crash.drill", body: Data("{}".utf8), key: key)
                    ],
                    at: now)
                inside()
                return .rollback
            }
        }
    }
}
