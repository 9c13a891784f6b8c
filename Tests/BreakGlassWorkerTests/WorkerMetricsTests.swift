import BreakGlassCore
import Prometheus
import Testing

@testable import BreakGlassWorker

@Suite("WorkerMetrics")
struct WorkerMetricsTests {
    static func lines(_ registry: PrometheusCollectorRegistry) -> [Substring] {
        registry.emitToString().split(separator: "\n")
    }

    @Test("every metric has a HELP line, and counters exist at zero from start-up")
    func helpAndZeros() {
        let registry = PrometheusCollectorRegistry()
        WorkerMetrics(registry: registry).registerAll()
        let lines = Self.lines(registry)
        let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(typed.isSubset(of: helped), "without HELP: \(typed.subtracting(helped).sorted())")
        #expect(WorkerMetrics.help.values.allSatisfy { !$0.isEmpty })
        for result in WorkerMetrics.results {
            #expect(lines.contains("breakglass_outcomes_total{result=\"\(result)\"} 0"))
        }
        #expect(lines.contains("breakglass_outcome_reasons_total{result=\"halted\",reason=\"IN_DOUBT_UNRESOLVED\"} 0"))
        #expect(lines.contains("breakglass_build_info{version=\"\(BuildInfo.version)\"} 1.0"))
        #expect(lines.contains("breakglass_escalated_halts_total 0"))
        // Ledger-wide figures are not exported until this worker holds the relay lease.
        #expect(!lines.contains { $0.hasPrefix("breakglass_ledger_") })
    }

    @Test("a decision with several reasons counts once in outcomes, once per reason in reasons")
    func outcomeCountsOnce() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(registry: registry)
        metrics.registerAll()
        metrics.outcome(
            result: "halted", reasons: ["TENANT_INACTIVE", "INCIDENT_NOT_ACTIVE", "TENANT_INACTIVE"], escalated: false)
        metrics.outcome(result: "halted", reasons: ["IN_DOUBT_UNRESOLVED"], escalated: true)
        let lines = Self.lines(registry)
        #expect(lines.contains("breakglass_outcomes_total{result=\"halted\"} 2"))
        #expect(lines.contains("breakglass_outcome_reasons_total{result=\"halted\",reason=\"TENANT_INACTIVE\"} 1"))
        #expect(lines.contains("breakglass_outcome_reasons_total{result=\"halted\",reason=\"INCIDENT_NOT_ACTIVE\"} 1"))
        #expect(lines.contains("breakglass_escalated_halts_total 1"))
    }

    @Test("ledger-wide figures appear while set and disappear when the lease is lost")
    func ledgerFiguresFollowTheLease() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WorkerMetrics(registry: registry)
        metrics.ledger(
            LedgerFigures(
                outboxBacklog: 3, outboxOldestAgeSeconds: 12.5, takeoversOpen: 2,
                takeoverOldestAgeSeconds: 600, escalatedOpen: 1))
        metrics.deadLetters(4)
        var lines = Self.lines(registry)
        #expect(lines.contains("breakglass_ledger_outbox_backlog 3.0"))
        #expect(lines.contains("breakglass_ledger_outbox_oldest_age_seconds 12.5"))
        #expect(lines.contains("breakglass_ledger_escalated_halts_open 1.0"))
        #expect(lines.contains("breakglass_dead_letter_messages 4.0"))
        metrics.ledger(nil)
        metrics.deadLetters(nil)
        lines = Self.lines(registry)
        #expect(!lines.contains { $0.hasPrefix("breakglass_ledger_") || $0.hasPrefix("breakglass_dead_letter") })
    }
}
