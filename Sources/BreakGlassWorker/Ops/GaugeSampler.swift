import BreakGlassConsole
import BreakGlassLedger
import ServiceLifecycle

/// Samples the gauges that have no natural event to update them: the outbox backlog (events not yet confirmed
/// by the broker, across every worker sharing the ledger) and the open browser sessions of this worker.
struct GaugeSampler: Service {
    let ledger: Ledger
    let pool: BrowserPool
    let metrics: WorkerMetrics
    /// How often to sample. Default 5 s.
    var interval: Duration = .seconds(5)

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let stats = try? ledger.stats() { metrics.outboxBacklog(stats.pendingEvents) }
                metrics.browserSessions(await pool.openSessions)
                try? await Task.sleep(for: interval)
            }
        }
    }
}
