public import BreakGlassAMQP
public import BreakGlassCore
public import BreakGlassConsole
public import BreakGlassLedger
public import BreakGlassLiveSources
import Foundation
public import Logging
public import BreakGlassEvidence

/// Maps the loaded configuration into each module's own `Configuration` (loading stays separate from using).
extension ConfigurationValues {
    /// `worker.id`, or `<hostname>-<pid>`.
    public var workerID: String {
        self[Config.workerID] ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    public func amqpConfiguration() throws -> AMQPConnection.Configuration {
        let password = try secret(file: Config.amqpPasswordFile)
        var urls = try (self[Config.amqpURLs] ?? [self[Config.amqpURL]]).map { text in
            var url = try AMQPURL(parsing: text)
            if let password { url.password = password.revealed }
            return url
        }
        guard !urls.isEmpty else { throw ConfigurationError.missingValue(Config.amqpURLs.name, "names no node") }
        var configuration = AMQPConnection.Configuration(url: urls.removeFirst())
        configuration.alternateURLs = urls
        configuration.heartbeat = .seconds(self[Config.heartbeatSeconds])
        configuration.connectTimeout = .seconds(self[Config.connectTimeoutSeconds])
        configuration.handshakeTimeout = configuration.connectTimeout
        configuration.rpcTimeout = .seconds(self[Config.rpcTimeoutSeconds])
        configuration.tls = .init(
            caFile: self[Config.amqpCAFile], certificateFile: self[Config.amqpCertFile],
            keyFile: self[Config.amqpKeyFile])
        configuration.connectionName = "breakglass \(workerID)"
        configuration.topology = AMQPTopology(configuration: topologyConfiguration()).declarations
        return configuration
    }

    public func topologyConfiguration() -> AMQPTopology.Configuration {
        var topology = AMQPTopology.Configuration()
        topology.requestExchange = self[Config.requestExchange]
        topology.requestQueue = self[Config.requestQueue]
        topology.requestRoutingKey = self[Config.requestRoutingKey]
        topology.deadLetterExchange = self[Config.deadLetterExchange]
        topology.deadLetterQueue = self[Config.deadLetterQueue]
        topology.eventExchange = self[Config.eventExchange]
        topology.deliveryLimit = Int64(self[Config.deliveryLimit])
        return topology
    }

    /// The SQLite ledger's settings for `path` (default: `ledger.path`, or the path of a `sqlite:` `ledger.url`).
    public func ledgerConfiguration(path: String? = nil) -> SQLiteLedger.Configuration {
        var configuration = SQLiteLedger.Configuration(path: path ?? sqliteLedgerPath ?? self[Config.ledgerPath])
        configuration.leaseDuration = .seconds(self[Config.leaseSeconds])
        configuration.busyTimeout = .milliseconds(self[Config.busyTimeoutMs])
        configuration.maximumResumes = self[Config.maxResumes]
        return configuration
    }

    public func sourcesConfiguration() throws -> LiveSourcesClient.Configuration {
        let token = try secret(Config.sourcesToken, file: Config.sourcesTokenFile) ?? Secret("")
        return LiveSourcesClient.Configuration(
            baseURL: self[Config.sourcesBaseURL],
            token: token,
            requestTimeout: .milliseconds(self[Config.sourcesTimeoutMs]),
            retryWindow: .seconds(self[Config.sourcesRetryWindowSeconds]),
            caFile: self[Config.sourcesCAFile])
    }

    public func gatePolicy() -> GatePolicy {
        GatePolicy(
            maxApprovalAge: TimeInterval((self[Config.maxApprovalAgeMinutes]) * 60),
            identityAssuranceMaxAge: TimeInterval((self[Config.identityMaxAgeMinutes]) * 60),
            clockSkewTolerance: TimeInterval(self[Config.clockSkewSeconds]),
            requiredRolesOverride: self[Config.requiredRoles],
            workerServiceIdentity: self[Config.serviceIdentity])
    }

    public func trustedKeys() throws -> TrustedKeys {
        try TrustedKeys(contentsOf: URL(fileURLWithPath: self[Config.trustedKeysFile]))
    }

    public var inFlight: Int { self[Config.inFlight] }

    /// `webdriver.isolation` (validated at load).
    public var webDriverIsolation: DriverPortGuard.Mode {
        DriverPortGuard.Mode(rawValue: self[Config.webDriverIsolation]) ?? .auto
    }

    /// chromedriver for a process that owns claims as `ownerID` on the ledger at `ledgerPath`, the same for `run` and
    /// every `takeover` command: no `webdriver.url` → a managed chromedriver on a free loopback port whose pid (and the
    /// owner's) is kept beside the ledger (`chromedriver.<id>.pid`), so a driver left by a killed worker or a killed
    /// `takeover resume` is reaped at the next start; `webdriver.isolation` guards its port.
    public func chromeDriverConfiguration(ownerID: String, ledgerPath: String) -> ChromeDriverSupervisor.Configuration {
        let ledgerDirectory = URL(fileURLWithPath: ledgerPath).deletingLastPathComponent()
        let safeID = String(ownerID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return ChromeDriverSupervisor.Configuration(
            mode: self[Config.webDriverURL].map { .external(url: $0) }
                ?? .managed(binary: self[Config.chromeDriverPath], port: FreePort.pick()),
            pidFile: ledgerDirectory.appendingPathComponent("chromedriver.\(safeID).pid").path,
            isolation: webDriverIsolation)
    }

    /// The console map (`console.map_file`, or `file`), with `console.page_timeout_seconds` and
    /// `console.confirmation_timeout_seconds` applied over its timeouts when set: the same for `run`, every
    /// `takeover` command and `console record`.
    public func consoleMap(file: String? = nil) throws -> ConsoleMap {
        var map = try ConsoleMap.load(file: URL(fileURLWithPath: file ?? self[Config.consoleMapFile]))
        if let seconds = self[Config.pageTimeoutSeconds] { map.timeouts.screenMs = seconds * 1000 }
        if let seconds = self[Config.confirmationTimeoutSeconds] { map.timeouts.confirmationMs = seconds * 1000 }
        return map
    }

    /// The console driver over `map` for `workerID`, the same for `run`, every `takeover` command and `console
    /// record`: the console URL and credentials (`console.password(_file)`), a browser pool of `maximumSessions` on
    /// the chromedriver at `webDriverURL`, `extraSecrets` masked wherever the driver writes.
    public func consoleDriver(
        map: ConsoleMap, workerID: String, webDriverURL: String, maximumSessions: Int, evidence: EvidenceStore,
        extraSecrets: [Secret], logger: Logger
    ) throws -> (driver: ConsoleDriver, pool: BrowserPool) {
        let password = try secret(Config.consolePassword, file: Config.consolePasswordFile) ?? Secret("")
        let pool = BrowserPool(
            client: WebDriverClient(configuration: .init(url: webDriverURL, chromiumBinary: self[Config.chromiumPath])),
            configuration: .init(
                maximumSessions: maximumSessions,
                signInAheadMaximumAge: .seconds(self[Config.signInAheadMaxAgeSeconds])))
        let driver = ConsoleDriver(
            configuration: .init(
                baseURL: self[Config.consoleURL], map: map,
                username: self[Config.consoleUsername], password: password, workerID: workerID,
                grantVerificationWindow: grantVerificationWindow, extraSecrets: extraSecrets),
            pool: pool, evidence: evidence, logger: logger)
        return (driver, pool)
    }

    /// `console.grant_verify_window_seconds`: how long IAM may take to show a confirmed grant.
    public var grantVerificationWindow: Duration { .seconds(self[Config.grantVerifyWindowSeconds]) }

    /// The pipeline's configuration, the same for `run` and every `takeover` command. The confirmation bound (how
    /// long after `submitting` a click can still land and be confirmed) is the map's confirmation timeout plus the
    /// IAM verification window plus 5 s: the lease written with `submitting` covers it.
    public func pipelineConfiguration(workerID: String, confirmationTimeoutMs: Int) -> RestorationPipeline.Configuration
    {
        var configuration = RestorationPipeline.Configuration(workerID: workerID, gatePolicy: gatePolicy())
        configuration.eventSource = self[Config.eventSource]
        configuration.deliveryLimit = self[Config.deliveryLimit]
        configuration.gateDeadline = .seconds(self[Config.gateDeadlineSeconds])
        configuration.evidenceLocationBase = self[Config.statusPublicURL]
        configuration.confirmationBound = .milliseconds(confirmationTimeoutMs) + grantVerificationWindow + .seconds(5)
        return configuration
    }

    /// The key sealing evidence manifests: `evidence.key_file`, or one per evidence directory, created once (0600)
    /// beside it with its public half published (`evidence-key.pub`).
    public func evidenceKey() throws -> EvidenceKey {
        if let file = self[Config.evidenceKeyFile] {
            return try EvidenceKey(keyID: "evidence", seedFile: URL(fileURLWithPath: file))
        }
        // No key configured: one per evidence directory, created once (0600) beside it, its public half published.
        let dir = URL(fileURLWithPath: self[Config.evidenceDir])
        let seedURL = dir.deletingLastPathComponent().appendingPathComponent("evidence-key.seed")
        if !FileManager.default.fileExists(atPath: seedURL.path) {
            // Several workers may start at once: the seed is written to a private temporary file and linked into
            // place, which fails if another worker won; only the winner publishes the public half.
            try FileManager.default.createDirectory(
                at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
            let (key, seed) = EvidenceKey.generate(keyID: "evidence")
            let temporary = seedURL.path + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
            if FileManager.default.createFile(
                atPath: temporary, contents: Data((seed + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
            {
                if link(temporary, seedURL.path) == 0 {
                    try Data((key.publicKeyBase64 + "\n").utf8).write(
                        to: dir.deletingLastPathComponent().appendingPathComponent("evidence-key.pub"), options: .atomic
                    )
                }
                unlink(temporary)
            }
        }
        return try EvidenceKey(keyID: "evidence", seedFile: seedURL)
    }
}
