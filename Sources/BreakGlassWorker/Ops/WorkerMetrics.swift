import BreakGlassCore
public import Prometheus

/// The worker's metrics, exported by the ops server in Prometheus text format with a HELP line each. Names are
/// stable: the alert rules (`ops/prometheus/alerts.yml`) and the dashboard are built on them (docs/OPERATIONS.md).
///
/// Counters exist at zero from start-up (every result, every reason code), so a rate or an `increase` never starts
/// from an absent series. Ledger-wide figures (`breakglass_ledger_*`, `breakglass_dead_letter_messages`) are exported
/// only by the worker whose outbox relay holds the ledger's relay lease: one series per ledger, never summed over the
/// workers sharing it.
public struct WorkerMetrics: Sendable {
    public static let buildInfo = "breakglass_build_info"
    public static let ready = "breakglass_ready"
    public static let deliveries = "breakglass_deliveries_total"
    public static let redeliveries = "breakglass_redeliveries_total"
    public static let outcomes = "breakglass_outcomes_total"
    public static let outcomeReasons = "breakglass_outcome_reasons_total"
    public static let escalatedHalts = "breakglass_escalated_halts_total"
    public static let duplicatesSuppressed = "breakglass_duplicates_suppressed_total"
    public static let signInsAhead = "breakglass_console_sign_ins_ahead_total"
    public static let gateDuration = "breakglass_gate_duration_seconds"
    public static let consoleDuration = "breakglass_console_duration_seconds"
    public static let recheckToClick = "breakglass_recheck_to_click_seconds"
    public static let inFlight = "breakglass_in_flight"
    public static let browserSessions = "breakglass_browser_sessions"
    public static let ledgerOutboxBacklog = "breakglass_ledger_outbox_backlog"
    public static let ledgerOutboxOldestAge = "breakglass_ledger_outbox_oldest_age_seconds"
    public static let ledgerTakeoversOpen = "breakglass_ledger_takeovers_open"
    public static let ledgerTakeoverOldestAge = "breakglass_ledger_takeover_oldest_open_age_seconds"
    public static let ledgerEscalatedOpen = "breakglass_ledger_escalated_halts_open"
    public static let deadLetters = "breakglass_dead_letter_messages"

    /// Results of a terminal decision (`breakglass_outcomes_total{result}`).
    public static let results = ["granted", "halted", "rejected"]

    static let help: [String: String] = [
        buildInfo: "Always 1; the version label names the running build.",
        ready: "1 when every readiness check passes (/readyz answers 200), else 0.",
        deliveries: "Request deliveries received from the broker, copies included.",
        redeliveries: "Deliveries the broker flagged as redelivered.",
        outcomes: "Terminal decisions by result (granted, halted, rejected), once per decision.",
        outcomeReasons: "Reason codes of terminal decisions, once per reason (a decision may carry several).",
        escalatedHalts: "Halts after which access may have been granted: a person must reconcile the console now.",
        duplicatesSuppressed: "Copies of already-decided keys acknowledged without touching sources or console.",
        signInsAhead: "Idle browser sessions signed in to the console ahead of requests (console.sign_in_ahead).",
        gateDuration: "Time to evaluate the gate against the live sources.",
        consoleDuration: "Time to drive the console flow, from opening to the end of the flow.",
        recheckToClick: "Time from the pre-submit recheck to the final click.",
        inFlight: "Deliveries this worker is processing now.",
        browserSessions: "Browser sessions this worker holds open.",
        ledgerOutboxBacklog: "Events in the ledger's outbox not yet confirmed by the broker (whole ledger).",
        ledgerOutboxOldestAge: "Age in seconds of the oldest event not yet confirmed by the broker, 0 when none.",
        ledgerTakeoversOpen: "Open takeover records waiting for a person (whole ledger).",
        ledgerTakeoverOldestAge: "Age in seconds of the oldest open takeover record, 0 when none.",
        ledgerEscalatedOpen: "Open takeover records after which access may have been granted (whole ledger).",
        deadLetters: "Messages in the dead-letter queue.",
    ]

    static let buckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
    ]

    let registry: PrometheusCollectorRegistry
    /// The counters every delivery touches, looked up once: a registry lookup per copy was a twentieth of the
    /// duplicate path's CPU (issue 21).
    private let deliveriesCounter: Counter
    private let redeliveriesCounter: Counter
    private let duplicatesCounter: Counter

    public init(registry: PrometheusCollectorRegistry = MetricsBootstrap.registry) {
        self.registry = registry
        deliveriesCounter = registry.makeCounter(descriptor: Self.descriptor(Self.deliveries), labels: [])
        redeliveriesCounter = registry.makeCounter(descriptor: Self.descriptor(Self.redeliveries), labels: [])
        duplicatesCounter = registry.makeCounter(descriptor: Self.descriptor(Self.duplicatesSuppressed), labels: [])
    }

    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    func counter(_ name: String, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name), labels: labels)
    }

    func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name), labels: labels)
    }

    func histogram(_ name: String) -> DurationHistogram {
        registry.makeDurationHistogram(descriptor: Self.descriptor(name), labels: [], buckets: Self.buckets)
    }

    /// Registers every per-worker series at zero (idempotent), and the build info.
    public func registerAll() {
        gauge(Self.buildInfo, [("version", BuildInfo.version)]).set(to: 1)
        _ = gauge(Self.ready)
        for name in [
            Self.deliveries, Self.redeliveries, Self.escalatedHalts, Self.duplicatesSuppressed, Self.signInsAhead,
        ] {
            _ = counter(name)
        }
        for result in Self.results { _ = counter(Self.outcomes, [("result", result)]) }
        for reason in ReasonCode.allCases {
            for result in ["halted", "rejected"] {
                _ = counter(Self.outcomeReasons, [("result", result), ("reason", reason.rawValue)])
            }
        }
        for name in [Self.gateDuration, Self.consoleDuration, Self.recheckToClick] { _ = histogram(name) }
        for name in [Self.inFlight, Self.browserSessions] { _ = gauge(name) }
    }

    public func delivery(redelivered: Bool) {
        deliveriesCounter.increment()
        if redelivered { redeliveriesCounter.increment() }
    }

    /// One terminal decision: `result` granted/halted/rejected, counted once; each reason on its own counter.
    public func outcome(result: String, reasons: [String], escalated: Bool = false) {
        counter(Self.outcomes, [("result", result)]).increment()
        for reason in Set(reasons) {
            counter(Self.outcomeReasons, [("result", result), ("reason", reason)]).increment()
        }
        if escalated { counter(Self.escalatedHalts).increment() }
    }

    public func duplicateSuppressed() { duplicatesCounter.increment() }

    public func gate(seconds: Double) { histogram(Self.gateDuration).recordNanoseconds(Int64(seconds * 1e9)) }
    public func console(seconds: Double) { histogram(Self.consoleDuration).recordNanoseconds(Int64(seconds * 1e9)) }
    public func recheckToClick(seconds: Double) {
        histogram(Self.recheckToClick).recordNanoseconds(Int64(seconds * 1e9))
    }

    public func inFlight(_ value: Int) { gauge(Self.inFlight).set(to: Double(value)) }
    public func signedInAhead() { counter(Self.signInsAhead).increment() }
    public func browserSessions(_ value: Int) { gauge(Self.browserSessions).set(to: Double(value)) }
    public func ready(_ value: Bool) { gauge(Self.ready).set(to: value ? 1 : 0) }

    /// The ledger-wide figures, set by the relay-lease holder; `nil` removes them (this worker no longer holds it).
    public func ledger(_ figures: LedgerFigures?) {
        let names = [
            Self.ledgerOutboxBacklog, Self.ledgerOutboxOldestAge, Self.ledgerTakeoversOpen,
            Self.ledgerTakeoverOldestAge, Self.ledgerEscalatedOpen,
        ]
        guard let figures else {
            for name in names { registry.unregisterGauge(gauge(name)) }
            return
        }
        gauge(Self.ledgerOutboxBacklog).set(to: Double(figures.outboxBacklog))
        gauge(Self.ledgerOutboxOldestAge).set(to: figures.outboxOldestAgeSeconds)
        gauge(Self.ledgerTakeoversOpen).set(to: Double(figures.takeoversOpen))
        gauge(Self.ledgerTakeoverOldestAge).set(to: figures.takeoverOldestAgeSeconds)
        gauge(Self.ledgerEscalatedOpen).set(to: Double(figures.escalatedOpen))
    }

    /// The dead-letter queue's depth, set by the relay-lease holder; `nil` removes it.
    public func deadLetters(_ depth: Int?) {
        guard let depth else {
            registry.unregisterGauge(gauge(Self.deadLetters))
            return
        }
        gauge(Self.deadLetters).set(to: Double(depth))
    }
}

/// The ledger-wide figures exported once per ledger.
public struct LedgerFigures: Sendable, Hashable {
    public var outboxBacklog: Int
    public var outboxOldestAgeSeconds: Double
    public var takeoversOpen: Int
    public var takeoverOldestAgeSeconds: Double
    public var escalatedOpen: Int

    public init(
        outboxBacklog: Int, outboxOldestAgeSeconds: Double, takeoversOpen: Int, takeoverOldestAgeSeconds: Double,
        escalatedOpen: Int
    ) {
        self.outboxBacklog = outboxBacklog
        self.outboxOldestAgeSeconds = outboxOldestAgeSeconds
        self.takeoversOpen = takeoversOpen
        self.takeoverOldestAgeSeconds = takeoverOldestAgeSeconds
        self.escalatedOpen = escalatedOpen
    }
}

/// The process's Prometheus registry, created once.
public enum MetricsBootstrap {
    public static let registry = PrometheusCollectorRegistry()

    public static func prometheusText() -> String { registry.emitToString() }
}
