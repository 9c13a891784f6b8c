import Metrics
public import Prometheus

/// The worker's metrics (swift-metrics), exported by the ops server in Prometheus text format.
/// Names are stable: dashboards and alerts are built on them.
public struct WorkerMetrics: Sendable {
    public static let deliveries = "breakglass_deliveries_total"
    public static let redeliveries = "breakglass_redeliveries_total"
    public static let outcomes = "breakglass_outcomes_total"
    public static let duplicatesSuppressed = "breakglass_duplicates_suppressed_total"
    public static let gateDuration = "breakglass_gate_duration_seconds"
    public static let consoleDuration = "breakglass_console_duration_seconds"
    public static let recheckToClick = "breakglass_recheck_to_click_seconds"
    public static let inFlight = "breakglass_in_flight"
    public static let outboxBacklog = "breakglass_outbox_backlog"
    public static let browserSessions = "breakglass_browser_sessions"

    public init() {}

    public func delivery(redelivered: Bool) {
        Counter(label: Self.deliveries).increment()
        if redelivered { Counter(label: Self.redeliveries).increment() }
    }

    /// One terminal outcome: `result` granted/halted/rejected, `reason` the first reason code or `none`.
    public func outcome(result: String, reasons: [String]) {
        if reasons.isEmpty {
            Counter(label: Self.outcomes, dimensions: [("result", result), ("reason", "none")]).increment()
        }
        for reason in reasons {
            Counter(label: Self.outcomes, dimensions: [("result", result), ("reason", reason)]).increment()
        }
    }

    public func duplicateSuppressed() { Counter(label: Self.duplicatesSuppressed).increment() }

    public func gate(seconds: Double) { Timer(label: Self.gateDuration).recordNanoseconds(Int64(seconds * 1e9)) }
    public func console(seconds: Double) { Timer(label: Self.consoleDuration).recordNanoseconds(Int64(seconds * 1e9)) }
    public func recheckToClick(seconds: Double) { Timer(label: Self.recheckToClick).recordNanoseconds(Int64(seconds * 1e9)) }

    public func inFlight(_ value: Int) { Gauge(label: Self.inFlight).record(value) }
    public func outboxBacklog(_ value: Int) { Gauge(label: Self.outboxBacklog).record(value) }
    public func browserSessions(_ value: Int) { Gauge(label: Self.browserSessions).record(value) }
}

/// Bootstraps swift-metrics with a Prometheus registry, once per process.
public enum MetricsBootstrap {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    public static func prometheusText() -> String { registry.emitToString() }
}
