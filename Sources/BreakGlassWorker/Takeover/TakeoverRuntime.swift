import BreakGlassAMQP
public import BreakGlassConsole
import BreakGlassCore
public import BreakGlassLedger
import BreakGlassLiveSources
import Foundation
public import Logging
import BreakGlassEvidence

/// The parts a person's takeover command (`takeover resume`, `takeover revoke`) needs, assembled from the SAME
/// configuration as `breakglass run` (file, `BREAKGLASS_*` environment, `--set`), for one command in the CLI
/// process: the ledger, the live sources, the evidence store and key, the console driver with one browser
/// session (chromedriver started for the command when no `webdriver.url` is configured), and the pipeline.
public struct TakeoverRuntime: Sendable {
    public let values: ConfigurationValues
    public let logger: Logger
    /// The claim owner, relay-lease owner and evidence author of this command:
    /// `takeover-<worker id>-<pid>-<8 random hex>`. Unique per CLI run, so two takeover commands started with one
    /// configuration never look like the same owner (one's `releaseRelayLease` cannot free the other's lease).
    public let ownerID: String

    public init(values: ConfigurationValues, logger: Logger) {
        self.values = values
        self.logger = logger
        self.ownerID = Self.ownerID(workerID: values.workerID)
    }

    /// `takeover-<workerID>-<pid>-<8 random hex>` (`pid` defaults to this process's).
    public static func ownerID(workerID: String, pid: Int32? = nil) -> String {
        let pid = pid ?? ProcessInfo.processInfo.processIdentifier
        let nonce = String(UInt32.random(in: .min ... .max), radix: 16)
        return "takeover-\(workerID)-\(pid)-\(String(repeating: "0", count: 8 - nonce.count))\(nonce)"
    }

    /// Runs `body` with the pipeline (built by ``WorkerComponents``, as `run` builds it, with one browser session),
    /// then closes the browser session, chromedriver and the sources client. A takeover never reads a message from
    /// the broker: the request is the body the ledger stored when a worker verified it, so no trusted request keys
    /// are needed here.
    public func withPipeline<T: Sendable>(_ body: (RestorationPipeline, any Ledger) async throws -> T) async throws -> T
    {
        let components = try await WorkerComponents.assemble(
            values: values, ownerID: ownerID, maximumSessions: 1, verifier: MessageVerifier(trustedKeys: TrustedKeys()),
            logger: logger)
        do {
            let result = try await running(components.supervisor, components.pool) {
                try await body(components.pipeline, components.ledger)
            }
            await components.shutdown()
            return result
        } catch {
            await components.shutdown()
            throw error
        }
    }

    /// Runs `body` with a console driver over `mapFile` (default `console.map_file`) and one browser session, from the
    /// same configuration (console URL and credentials, chromedriver); no ledger is opened and no evidence is written
    /// (`breakglass console record`). Closes the browser session and chromedriver afterwards.
    public func withConsoleDriver<T: Sendable>(
        mapFile: String?, _ body: (ConsoleDriver) async throws -> T
    ) async throws -> T {
        let map = try values.consoleMap(file: mapFile)
        let sourceToken = try values.secret(Config.sourcesToken, file: Config.sourcesTokenFile)
        // The driver needs a store; nothing is sealed into it (a throwaway key in a private temporary folder).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("breakglass-record-\(ownerID)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let evidence = try EvidenceStore(root: scratch, key: EvidenceKey.generate(keyID: "record").key, logger: logger)
        return try await withDriver(
            map: map, ledgerPath: values[Config.ledgerPath], evidence: evidence,
            extraSecrets: sourceToken.map { [$0] } ?? [], body)
    }

    /// One browser session's driver under chromedriver supervised as a worker's is (pid file beside the ledger, so a
    /// killed command leaves no driver the next start cannot reap); both closed on every way out.
    private func withDriver<T: Sendable>(
        map: ConsoleMap, ledgerPath: String, evidence: EvidenceStore, extraSecrets: [Secret],
        _ body: (ConsoleDriver) async throws -> T
    ) async throws -> T {
        let supervisor = ChromeDriverSupervisor(
            configuration: values.chromeDriverConfiguration(ownerID: ownerID, ledgerPath: ledgerPath), logger: logger)
        let (driver, pool) = try values.consoleDriver(
            map: map, workerID: ownerID, webDriverURL: supervisor.url, maximumSessions: 1, evidence: evidence,
            extraSecrets: extraSecrets, logger: logger)
        return try await running(supervisor, pool) { try await body(driver) }
    }

    /// `body` with chromedriver started; the browser pool and chromedriver closed on every way out.
    private func running<T: Sendable>(
        _ supervisor: ChromeDriverSupervisor, _ pool: BrowserPool, _ body: () async throws -> T
    ) async throws -> T {
        do {
            try await supervisor.start()
            let result = try await body()
            await pool.close()
            await supervisor.stop()
            return result
        } catch {
            await pool.close()
            await supervisor.stop()
            throw error
        }
    }

    /// What `flushOutbox` did.
    public enum FlushResult: Sendable, Hashable {
        /// Every pending event was published (with publisher confirms).
        case published
        /// Some events stay in the outbox: the broker could not be reached or take them within the deadline. A
        /// worker's relay publishes every pending row later; nothing is lost.
        case leftForRelay
    }

    /// Publishes the outbox to the configured broker within `deadline` (the command's events, and anything else
    /// pending, in order per key), or leaves it for the workers' relays.
    public func flushOutbox(_ ledger: any Ledger, deadline: Duration = .seconds(15)) async -> FlushResult {
        let connection: AMQPConnection
        do {
            var configuration = try values.amqpConfiguration()
            configuration.connectionName = "breakglass \(ownerID)"
            connection = try AMQPConnection(configuration: configuration, logger: logger)
        } catch {
            logger.info(
                "broker not configured for this command; events left in the outbox",
                metadata: [
                    "breakglass.error": "\(type(of: error))"
                ])
            return .leftForRelay
        }
        connection.start()
        do {
            try await connection.waitUntilReady(timeout: deadline)
        } catch {
            logger.info("broker not reachable; events left in the outbox for the workers' relays")
            await connection.close()
            return .leftForRelay
        }
        let relay = OutboxRelay(
            ledger: ledger,
            publisher: AMQPEventPublisher(
                connection: connection, exchange: values.topologyConfiguration().eventExchange),
            configuration: .init(owner: ownerID), logger: logger)
        // A live worker's relay may hold the lease: wait for it to publish (or for its lease to lapse) within the
        // deadline rather than leaving the person's events for later.
        let drained = await relay.flush(deadline: deadline, waitForLeaseHolder: true)
        // Hand the relay lease back at once: the workers' relays need not wait for it to lapse.
        try? await ledger.releaseRelayLease(owner: ownerID)
        await connection.close()
        return drained ? .published : .leftForRelay
    }
}
