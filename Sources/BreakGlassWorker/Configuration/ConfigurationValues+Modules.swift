public import BreakGlassAMQP
public import BreakGlassCore
public import BreakGlassConsole
public import BreakGlassLedger
public import BreakGlassSources
import Foundation
public import Logging

/// Maps the loaded configuration into each module's own `Configuration` (loading stays separate from using).
extension ConfigurationValues {
    /// `worker.id`, or `<hostname>-<pid>`.
    public var workerID: String {
        string("worker.id") ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }

    public func amqpConfiguration() throws -> AMQPConnection.Configuration {
        var url = try AMQPURL(parsing: string("amqp.url") ?? "amqp://guest:guest@127.0.0.1:5672/")
        if let password = try secret("amqp.password", fileKey: "amqp.password_file") {
            url.password = password.revealed
        }
        var configuration = AMQPConnection.Configuration(url: url)
        configuration.heartbeat = .seconds(int("amqp.heartbeat_seconds") ?? 30)
        configuration.connectTimeout = .seconds(int("amqp.connect_timeout_seconds") ?? 10)
        configuration.handshakeTimeout = configuration.connectTimeout
        configuration.rpcTimeout = .seconds(int("amqp.rpc_timeout_seconds") ?? 10)
        configuration.tls = .init(
            caFile: string("amqp.tls.ca_file"), certificateFile: string("amqp.tls.cert_file"),
            keyFile: string("amqp.tls.key_file"))
        configuration.connectionName = "breakglass \(workerID)"
        configuration.topology = AMQPTopology(configuration: topologyConfiguration()).declarations
        return configuration
    }

    public func topologyConfiguration() -> AMQPTopology.Configuration {
        var topology = AMQPTopology.Configuration()
        topology.requestExchange = string("amqp.request_exchange") ?? topology.requestExchange
        topology.requestQueue = string("amqp.request_queue") ?? topology.requestQueue
        topology.requestRoutingKey = string("amqp.request_routing_key") ?? topology.requestRoutingKey
        topology.deadLetterExchange = string("amqp.dead_letter_exchange") ?? topology.deadLetterExchange
        topology.deadLetterQueue = string("amqp.dead_letter_queue") ?? topology.deadLetterQueue
        topology.eventExchange = string("amqp.event_exchange") ?? topology.eventExchange
        topology.deliveryLimit = Int64(int("amqp.delivery_limit") ?? 10)
        return topology
    }

    public func ledgerConfiguration() -> Ledger.Configuration {
        var configuration = Ledger.Configuration(path: string("ledger.path") ?? "run/ledger.sqlite")
        configuration.leaseDuration = .seconds(int("ledger.lease_seconds") ?? 120)
        configuration.busyTimeout = .milliseconds(int("ledger.busy_timeout_ms") ?? 5000)
        configuration.maximumResumes = int("ledger.max_resumes") ?? 3
        return configuration
    }

    public func sourcesConfiguration() throws -> LiveSourcesClient.Configuration {
        let token = try secret("sources.token", fileKey: "sources.token_file") ?? Secret("")
        return LiveSourcesClient.Configuration(
            baseURL: string("sources.base_url") ?? "http://127.0.0.1:8080",
            token: token,
            requestTimeout: .milliseconds(int("sources.timeout_ms") ?? 2000),
            retryWindow: .seconds(int("sources.retry_window_seconds") ?? 10),
            caFile: string("sources.ca_file"))
    }

    public func gatePolicy() -> GatePolicy {
        GatePolicy(
            maxApprovalAge: TimeInterval((int("gate.max_approval_age_minutes") ?? 240) * 60),
            identityAssuranceMaxAge: TimeInterval((int("gate.identity_max_age_minutes") ?? 1440) * 60),
            clockSkewTolerance: TimeInterval(int("gate.clock_skew_seconds") ?? 30),
            requiredRolesOverride: stringList("gate.required_roles"),
            workerServiceIdentity: string("worker.service_identity") ?? "svc-breakglass")
    }

    public func trustedKeys() throws -> TrustedKeys {
        try TrustedKeys(contentsOf: URL(fileURLWithPath: string("worker.trusted_keys_file") ?? "config/trusted-keys.json"))
    }

    public var inFlight: Int { int("worker.in_flight") ?? 2 }

    /// `webdriver.isolation` (validated at load).
    public var webDriverIsolation: DriverPortGuard.Mode {
        string("webdriver.isolation").flatMap(DriverPortGuard.Mode.init(rawValue:)) ?? .auto
    }

    /// chromedriver for a process that owns claims as `ownerID` on the ledger at `ledgerPath`, the same for `run` and
    /// every `takeover` command: no `webdriver.url` → a managed chromedriver on a free loopback port whose pid (and the
    /// owner's) is kept beside the ledger (`chromedriver.<id>.pid`), so a driver left by a killed worker or a killed
    /// `takeover resume` is reaped at the next start; `webdriver.isolation` guards its port.
    public func chromeDriverConfiguration(ownerID: String, ledgerPath: String) -> ChromeDriverSupervisor.Configuration {
        let ledgerDirectory = URL(fileURLWithPath: ledgerPath).deletingLastPathComponent()
        let safeID = String(ownerID.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return ChromeDriverSupervisor.Configuration(
            mode: string("webdriver.url").map { .external(url: $0) }
                ?? .managed(binary: string("webdriver.chromedriver_path") ?? "/usr/bin/chromedriver", port: FreePort.pick()),
            pidFile: ledgerDirectory.appendingPathComponent("chromedriver.\(safeID).pid").path,
            isolation: webDriverIsolation)
    }

    /// The console map (`console.map_file`, or `file`), with `console.page_timeout_seconds` and
    /// `console.confirmation_timeout_seconds` applied over its timeouts when set: the same for `run`, every
    /// `takeover` command and `console record`.
    public func consoleMap(file: String? = nil) throws -> ConsoleMap {
        var map = try ConsoleMap.load(file: URL(fileURLWithPath: file ?? string("console.map_file") ?? "config/consoles/reference.yaml"))
        if let seconds = int("console.page_timeout_seconds") { map.timeouts.screenMs = seconds * 1000 }
        if let seconds = int("console.confirmation_timeout_seconds") { map.timeouts.confirmationMs = seconds * 1000 }
        return map
    }

    /// The console driver over `map` for `workerID`, the same for `run`, every `takeover` command and `console
    /// record`: the console URL and credentials (`console.password(_file)`), a browser pool of `maximumSessions` on
    /// the chromedriver at `webDriverURL`, `extraSecrets` masked wherever the driver writes.
    public func consoleDriver(
        map: ConsoleMap, workerID: String, webDriverURL: String, maximumSessions: Int, evidence: EvidenceStore,
        extraSecrets: [Secret], logger: Logger
    ) throws -> (driver: ConsoleDriver, pool: BrowserPool) {
        let password = try secret("console.password", fileKey: "console.password_file") ?? Secret("")
        let pool = BrowserPool(
            client: WebDriverClient(configuration: .init(url: webDriverURL, chromiumBinary: string("webdriver.chromium_path"))),
            configuration: .init(maximumSessions: maximumSessions))
        let driver = ConsoleDriver(
            configuration: .init(
                baseURL: string("console.url") ?? "http://127.0.0.1:8080", map: map,
                username: string("console.username") ?? "svc-breakglass", password: password, workerID: workerID,
                grantVerificationWindow: grantVerificationWindow, extraSecrets: extraSecrets),
            pool: pool, evidence: evidence, logger: logger)
        return (driver, pool)
    }

    /// `console.grant_verify_window_seconds`: how long IAM may take to show a confirmed grant.
    public var grantVerificationWindow: Duration { .seconds(int("console.grant_verify_window_seconds") ?? 15) }

    /// The pipeline's configuration, the same for `run` and every `takeover` command. The confirmation bound (how
    /// long after `submitting` a click can still land and be confirmed) is the map's confirmation timeout plus the
    /// IAM verification window plus 5 s: the lease written with `submitting` covers it.
    public func pipelineConfiguration(workerID: String, confirmationTimeoutMs: Int) -> RestorationPipeline.Configuration {
        var configuration = RestorationPipeline.Configuration(workerID: workerID, gatePolicy: gatePolicy())
        configuration.eventSource = string("worker.event_source") ?? configuration.eventSource
        configuration.deliveryLimit = int("amqp.delivery_limit") ?? 10
        configuration.gateDeadline = .seconds(int("gate.deadline_seconds") ?? 20)
        configuration.evidenceLocationBase = string("status.public_url")
        configuration.confirmationBound = .milliseconds(confirmationTimeoutMs) + grantVerificationWindow + .seconds(5)
        return configuration
    }
}
