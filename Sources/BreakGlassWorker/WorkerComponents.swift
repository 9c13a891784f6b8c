public import BreakGlassConsole
public import BreakGlassCore
public import BreakGlassLedger
public import BreakGlassLiveSources
import Foundation
public import Logging
public import BreakGlassEvidence

/// The composition root: the graph that decides a restoration, built once from configuration and used by
/// `breakglass run` (``WorkerApplication``, which adds the broker, the consumer, the relay and the ops server
/// around it) and by a person's `takeover` commands (``TakeoverRuntime``, one browser session, no broker consumer).
/// Nothing else builds a ledger, a sources client, an evidence store, a console driver or a pipeline from values.
public struct WorkerComponents: Sendable {
    public let ledger: any Ledger
    public let sourcesConfiguration: LiveSourcesClient.Configuration
    public let sources: LiveSourcesClient
    public let evidence: EvidenceStore
    public let map: ConsoleMap
    /// chromedriver: managed on a free loopback port (its pid file beside the ledger) or the configured
    /// `webdriver.url`. Started by the caller (a service in `run`, around the command in `takeover`).
    public let supervisor: ChromeDriverSupervisor
    public let driver: ConsoleDriver
    public let pool: BrowserPool
    public let pipelineConfiguration: RestorationPipeline.Configuration
    public let pipeline: RestorationPipeline

    /// Builds the graph for claim owner `ownerID` with `maximumSessions` browser sessions. `verifier` checks request
    /// signatures (a takeover never reads a message from the broker: it passes an empty one). On a throw, everything
    /// built so far is shut down.
    public static func assemble(
        values: ConfigurationValues, ownerID: String, maximumSessions: Int, verifier: MessageVerifier, logger: Logger
    ) async throws -> WorkerComponents {
        let sourcesConfiguration = try values.sourcesConfiguration()
        let ledger = try await values.openLedger(logger: logger)
        let sources: LiveSourcesClient
        do {
            sources = try LiveSourcesClient(configuration: sourcesConfiguration, logger: logger)
        } catch {
            await ledger.shutdown()
            throw error
        }
        // A sources client dropped without shutdown traps in debug builds: shut it down on every way out.
        do {
            let evidence = try EvidenceStore(
                root: URL(fileURLWithPath: values[Config.evidenceDir]), key: try values.evidenceKey(), logger: logger)
            let map = try values.consoleMap()
            let supervisor = ChromeDriverSupervisor(
                configuration: values.chromeDriverConfiguration(
                    ownerID: ownerID, ledgerPath: values[Config.ledgerPath]),
                logger: logger)
            let (driver, pool) = try values.consoleDriver(
                map: map, workerID: ownerID, webDriverURL: supervisor.url, maximumSessions: maximumSessions,
                evidence: evidence, extraSecrets: [sourcesConfiguration.token], logger: logger)
            let pipelineConfiguration = values.pipelineConfiguration(
                workerID: ownerID, confirmationTimeoutMs: map.timeouts.confirmationMs)
            let pipeline = RestorationPipeline(
                configuration: pipelineConfiguration, verifier: verifier, ledger: ledger, sources: sources,
                console: driver,
                evidence: evidence, masker: driver.masker, logger: logger)
            return WorkerComponents(
                ledger: ledger, sourcesConfiguration: sourcesConfiguration, sources: sources, evidence: evidence,
                map: map,
                supervisor: supervisor, driver: driver, pool: pool, pipelineConfiguration: pipelineConfiguration,
                pipeline: pipeline)
        } catch {
            try? await sources.shutdown()
            await ledger.shutdown()
            throw error
        }
    }

    /// Closes what the graph opened that outlives a request: the sources client's connections.
    public func shutdown() async {
        try? await sources.shutdown()
        await ledger.shutdown()
    }
}
