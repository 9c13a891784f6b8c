import BreakGlassAMQP
import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassLiveSources
import Foundation
import Hummingbird
public import Logging
import ServiceLifecycle

/// The worker, assembled from its configuration: broker connection, ledger, live sources, console driver with
/// its browser pool (and chromedriver when no WebDriver URL is configured), the pipeline, the consumer, the
/// outbox relay and the ops server, run as one `ServiceGroup` that stops on SIGTERM/SIGINT.
///
/// Shutdown order (reverse of start): stop consuming and drain in-flight requests (halted safely past the
/// deadline), stop the ops server, flush the outbox, close the broker connection, stop chromedriver.
public struct WorkerApplication: Sendable {
    public let values: ConfigurationValues
    public let logger: Logger

    public init(values: ConfigurationValues, logger: Logger) {
        self.values = values
        self.logger = logger
    }

    /// Runs until a shutdown signal (or `stop`), then drains and returns. `onReady` gets the ops port once bound.
    public func run(onOpsBound: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        WorkerMetrics().registerAll()
        let workerID = values.workerID
        var log = logger
        log[metadataKey: "breakglass.worker_id"] = "\(workerID)"

        let verifier = MessageVerifier(trustedKeys: try values.trustedKeys())
        let amqp = try AMQPConnection(configuration: values.amqpConfiguration(), logger: log)
        let components = try await WorkerComponents.assemble(
            values: values, ownerID: workerID, maximumSessions: values.inFlight, verifier: verifier, logger: log)
        do {
            try await run(components, amqp: amqp, logger: log, onOpsBound: onOpsBound)
        } catch {
            await components.shutdown()
            throw error
        }
        await components.shutdown()
        log.info("worker stopped")
    }

    private func run(
        _ components: WorkerComponents, amqp: AMQPConnection, logger log: Logger,
        onOpsBound: @escaping @Sendable (Int) async -> Void
    ) async throws {
        let workerID = values.workerID
        let (ledger, pipeline, supervisor, pool) = (
            components.ledger, components.pipeline, components.supervisor, components.pool
        )
        let pipelineConfiguration = components.pipelineConfiguration
        var services: [any Service] = []
        // No WebDriver URL configured: the worker starts and supervises chromedriver on a free loopback port. The
        // worker's pid, the driver's pid and its port are kept beside the ledger (`chromedriver.<id>.pid`); at start,
        // every such file whose worker no longer runs is reaped (its driver killed if the pid still runs
        // `chromedriver --port=<port>`), whatever id wrote it: the default id `host-<pid>` changes at every start.
        services.append(ChromeDriverService(supervisor: supervisor))
        // Before everything that holds claims (the consumer, the recovery scan): it stops after them, so their flows'
        // leases are renewed until they have drained.
        services.append(pipeline.leases)

        var consumerConfiguration = ConsumerService.Configuration()
        consumerConfiguration.queue = values.topologyConfiguration().requestQueue
        consumerConfiguration.inFlight = values.inFlight
        consumerConfiguration.drainTimeout = .seconds(values[Config.drainSeconds])
        let consumer = ConsumerService(
            connection: amqp, pipeline: pipeline, configuration: consumerConfiguration, logger: log)
        let relay = OutboxRelay(
            ledger: ledger,
            publisher: AMQPEventPublisher(connection: amqp, exchange: values.topologyConfiguration().eventExchange),
            configuration: .init(owner: workerID), logger: log)

        services.append(BrokerService(connection: amqp))
        services.append(RelayService(relay: relay, logger: log))
        let probes: [any ReadinessProbe] = [
            BrokerProbe(connection: amqp), LedgerProbe(ledger: ledger),
            WebDriverProbe { await supervisor.isReady() },
        ]
        let port = values[Config.opsPort]
        if port > 0 {
            // The restoration status API (issue 20.2), when its bearer token is configured.
            let status = try values.secret(Config.statusToken, file: Config.statusTokenFile).map {
                StatusAPI(ledger: ledger, evidenceRoot: URL(fileURLWithPath: values[Config.evidenceDir]), token: $0)
            }
            services.append(
                OpsServer.application(
                    configuration: .init(host: values[Config.opsHost], port: port), probes: probes,
                    status: status, logger: log, onBound: onOpsBound))
        }
        // Keys left in flight by an owner that died with no delivery coming back become takeover records.
        let lease = ledger.leaseDuration
        services.append(
            RecoveryScanService(
                pipeline: pipeline, interval: max(.seconds(5), lease / 2),
                grace: max(
                    lease + pipelineConfiguration.confirmationBound, .seconds(values[Config.recoveryGraceSeconds])),
                logger: log))
        let deadLetterQueue = values.topologyConfiguration().deadLetterQueue
        services.append(
            GaugeSampler(
                ledger: ledger, pool: pool, metrics: WorkerMetrics(), probes: probes,
                holdsRelayLease: { relay.holdsLease },
                deadLetterDepth: { (try? await amqp.queueStatus(deadLetterQueue)).map { Int($0.messageCount) } },
                logger: log))
        services.append(consumer)
        services.append(PoolCloser(pool: pool))
        // Last, so that it is the first to stop at graceful shutdown (services stop in reverse order): no session is
        // signed in once the pool starts closing.
        if values[Config.signInAhead] {
            if components.driver.canSignInAhead {
                services.append(SignInAheadService(driver: components.driver, logger: log))
            } else {
                log.notice(
                    "console.sign_in_ahead is on, but the map's first screen takes more than the credentials: off")
            }
        }

        // Spans (issue 18.4), when an OTLP endpoint is configured: every service runs with the exporter installed.
        var exporter: OTLPExporter?
        if let endpoint = values[Config.otlpEndpoint] {
            let otlp = OTLPExporter(
                configuration: .init(
                    endpoint: endpoint, serviceName: values[Config.tracingServiceName], instanceID: workerID),
                logger: log)
            // First in the group, so it stops last and exports the spans of the drain.
            services.insert(otlp, at: 0)
            exporter = otlp
        }
        log.info("worker starting", metadata: ["breakglass.in_flight": .stringConvertible(values.inFlight)])
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: log))
        try await Spans.$recorder.withValue(exporter) { try await group.run() }
    }
}

/// The broker connection as a service: runs until shutdown, then closes (after the consumer and relay stopped).
struct BrokerService: Service {
    let connection: AMQPConnection

    func run() async {
        await cancelWhenGracefulShutdown {
            await connection.run()
        }
        await connection.close()
    }
}

/// The outbox relay, with a final bounded flush on graceful shutdown.
struct RelayService: Service {
    let relay: OutboxRelay
    let logger: Logger

    func run() async throws {
        try await relay.run()
        let drained = await relay.flush(deadline: .seconds(10))
        logger.info("outbox flushed on shutdown", metadata: ["breakglass.outbox.drained": "\(drained)"])
    }
}

/// chromedriver's supervisor as a service: stops (terminating chromedriver) once everything else has.
struct ChromeDriverService: Service {
    let supervisor: ChromeDriverSupervisor

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await supervisor.run()
        }
        await supervisor.stop()
    }
}

/// Closes the browser sessions on shutdown, after the consumer finished.
struct PoolCloser: Service {
    let pool: BrowserPool

    func run() async {
        try? await gracefulShutdown()
        await pool.close()
    }
}
