import BreakGlassLedger
import Logging
import PostgresNIO

/// The outbox doorbell across hosts: a LISTEN on `breakglass_outbox` on one pooled connection, ringing `doorbell` on
/// every notification (each commit that wrote events sends one).
///
/// A wake-up only: the relay polls as well, so a notification lost while the LISTEN reconnects costs at most one
/// poll interval. The doorbell also rings on every (re)start of the LISTEN, for events written while it was down.
/// The LISTEN is renewed every `renewal` (a quiet connection that died silently is replaced), and restarted with
/// backoff (0.1 s doubling to 10 s) when the connection drops or none can be leased.
extension PostgresLedger {
    static let listenRenewal: Duration = .seconds(300)

    static func listen(client: PostgresClient, doorbell: Doorbell, endpoint: String, logger: Logger) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: PostgresLedgerSchema.outboxChannel) { notifications in
                        if failures > 0 {
                            logger.info(
                                "ledger LISTEN restored", metadata: ["breakglass.ledger.endpoint": "\(endpoint)"])
                        }
                        failures = 0
                        doorbell.ring()
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            group.addTask {
                                for try await _ in notifications { doorbell.ring() }
                            }
                            group.addTask { try await Task.sleep(for: listenRenewal) }
                            _ = try await group.next()
                            group.cancelAll()
                        }
                    }
                }
                continue
            } catch {
                if Task.isCancelled { break }
                failures += 1
                let level: Logger.Level = failures == 1 ? .warning : .debug
                logger.log(
                    level: level, "ledger LISTEN failed; the relay polls until it is back",
                    metadata: [
                        "breakglass.ledger.endpoint": "\(endpoint)",
                        "breakglass.ledger.error": "\(describe(error))",
                        "breakglass.ledger.failures": "\(failures)",
                    ])
            }
            let delay = Duration.milliseconds(min(10_000, 100 << min(failures, 7)))
            try? await Task.sleep(for: delay)
        }
    }
}
