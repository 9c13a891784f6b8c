import BreakGlassAMQP
import BreakGlassConsole
import BreakGlassLedger
import Foundation
import Logging
import ServiceLifecycle

/// Samples the gauges that have no natural event to update them: this worker's readiness and open browser sessions;
/// and, only while this worker's relay holds the ledger's relay lease (one exporter per ledger), the ledger-wide
/// figures (outbox backlog and oldest age, open and escalated takeovers) and the dead-letter queue's depth.
struct GaugeSampler: Service {
    let ledger: any Ledger
    let pool: BrowserPool
    let metrics: WorkerMetrics
    let probes: [any ReadinessProbe]
    /// Whether this worker's relay holds the relay lease now.
    let holdsRelayLease: @Sendable () -> Bool
    /// The dead-letter queue's depth; nil when it cannot be read now.
    let deadLetterDepth: @Sendable () async -> Int?
    let logger: Logger
    /// How often to sample. Default 5 s.
    var interval: Duration = .seconds(5)

    func run() async {
        metrics.registerAll()
        await cancelWhenGracefulShutdown {
            var exporting = false
            while !Task.isCancelled {
                await sample(&exporting)
                try? await Task.sleep(for: interval)
            }
        }
    }

    func sample(_ exporting: inout Bool) async {
        var checks: [Readiness.Check] = []
        for probe in probes { checks += await probe.check() }
        metrics.ready(Readiness(checks: checks).ready)
        metrics.browserSessions(await pool.openSessions)
        guard holdsRelayLease() else {
            if exporting {
                metrics.ledger(nil)
                metrics.deadLetters(nil)
                exporting = false
                logger.debug("relay lease lost: no longer exporting the ledger-wide metrics")
            }
            return
        }
        if let stats = try? await ledger.stats() {
            let now = Date()
            metrics.ledger(
                LedgerFigures(
                    outboxBacklog: stats.pendingEvents,
                    outboxOldestAgeSeconds: stats.oldestPendingEventAt.map { max(0, now.timeIntervalSince($0)) } ?? 0,
                    takeoversOpen: stats.openTakeovers,
                    takeoverOldestAgeSeconds: stats.oldestOpenTakeoverAt.map { max(0, now.timeIntervalSince($0)) } ?? 0,
                    escalatedOpen: stats.openEscalatedTakeovers))
            exporting = true
        }
        if let depth = await deadLetterDepth() { metrics.deadLetters(depth) }
    }
}
