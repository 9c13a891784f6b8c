public import BreakGlassCore
import BreakGlassLedger
import Foundation
import PostgresNIO

extension PostgresLedger {
    /// Whether the ledger takes writes now: one small committed write (the `write_probe` row) within
    /// `Configuration.writeProbeTimeout`. Never throws; the detail names `host:port` and the cause, never a secret.
    public func writeProbe() async -> (ok: Bool, detail: String) {
        let endpoint = configuration.endpoint
        let owner = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        do {
            let done = try await Self.withTimeout(configuration.writeProbeTimeout) {
                _ = try await self.autocommit(nil) { session in
                    // A query stuck on a dead connection ends when the timeout cancels it: the connection is closed.
                    try await withTaskCancellationHandler {
                        try await session.run(
                            """
                            INSERT INTO write_probe (id, probed_by, probed_at)
                            VALUES (1, \(owner), \(serverNow: session.shift))
                            ON CONFLICT (id)
                            DO UPDATE SET probed_by = excluded.probed_by, probed_at = excluded.probed_at
                            """)
                    } onCancel: {
                        let _: EventLoopFuture<Void> = session.connection.close()
                    }
                }
                return true
            }
            guard done != nil else {
                return (false, "\(endpoint): no write within \(configuration.writeProbeTimeout.ledgerSeconds) s")
            }
            return (true, "\(endpoint) takes writes")
        } catch let error as LedgerError {
            return (false, error.detail ?? "\(endpoint): \(error.code.rawValue)")
        } catch {
            return (false, "\(endpoint): \(Self.describe(error))")
        }
    }

    /// `operation`'s value, or nil when `timeout` passed first (`operation` is then cancelled and awaited).
    static func withTimeout<T: Sendable>(
        _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return nil }
            return first
        }
    }

    /// For crash drills only (`breakglass ledger-stress hold`): opens a transaction, writes a claimed row for `key`
    /// and one outbox event, calls `inside` (expected to block until the process is killed), and rolls back if
    /// `inside` returns. Proves that a process killed in the middle of a transaction leaves neither a partial row nor
    /// a held lock behind (the server rolls the transaction back when the connection drops).
    public func crashDrillHoldTransaction(_ key: RestorationKey, inside: @escaping @Sendable () -> Void) async throws {
        try Self.validate(key)
        try await autocommit(key) { session in
            try await session.run("BEGIN")
            do {
                let now = try await session.now()
                try await session.run(
                    """
                    INSERT INTO restorations (case_id, tenant_id, state, epoch, owner, lease_expires_at, request_id,
                        created_at, updated_at)
                    VALUES (\(key.caseID), \(key.tenantID), 'claimed', 1, 'crash-drill',
                        \(now.addingTimeInterval(3600).timeIntervalSince1970), 'REQ-crash-drill',
                        \(now.timeIntervalSince1970), \(now.timeIntervalSince1970))
                    """)
                try await session.insertEvents(
                    [
                        OutboxMessage(
                            eventID: "crash-drill-\(key)", routingKey: "crash.drill", body: Data("{}".utf8), key: key)
                    ],
                    at: now)
                inside()
            } catch {
                await session.rollback()
                throw error
            }
            await session.rollback()
        }
    }
}
