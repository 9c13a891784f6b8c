import Foundation
#if canImport(Glibc)
    import Glibc
#endif
public import Logging

/// Keeps a WebDriver endpoint available to the worker: either a configured URL (someone else runs chromedriver),
/// or a `chromedriver --port=N` child process that it starts, waits for (`GET /status` ready), restarts when it
/// dies, and stops on shutdown. Wrap `run()` in a swift-service-lifecycle `Service` (it returns when cancelled).
public actor ChromeDriverSupervisor {
    public struct Configuration: Sendable {
        public enum Mode: Sendable, Hashable {
            /// Use a running driver at this URL.
            case external(url: String)
            /// Start `binary --port=<port>` (default binary `/usr/bin/chromedriver`).
            case managed(binary: String, port: Int)
        }

        public var mode: Mode
        /// Bound on the driver becoming ready after a start. Default 20 s.
        public var readyTimeout: Duration
        /// How often `run()` checks the child process. Default 500 ms.
        public var checkInterval: Duration
        /// Wait before a restart after the child died. Default 1 s.
        public var restartDelay: Duration
        /// Where this worker's pid, the managed driver's pid and its port are kept (`chromedriver.<name>.pid`), so
        /// that a driver (and its browsers) left running by a worker that was killed is stopped at a later start: the
        /// first start reaps every `chromedriver.*.pid` in the same directory whose worker no longer runs (see
        /// `StaleDriverReaper`). Default `nil` (no pid file, no reaping).
        public var pidFile: String?
        /// Keeping other local users off the managed driver's port (`DriverPortGuard`). Default `.off`; the worker
        /// and the takeover commands use `webdriver.isolation` (default `auto`).
        public var isolation: DriverPortGuard.Mode

        public init(
            mode: Mode, readyTimeout: Duration = .seconds(20), checkInterval: Duration = .milliseconds(500),
            restartDelay: Duration = .seconds(1), pidFile: String? = nil, isolation: DriverPortGuard.Mode = .off
        ) {
            self.isolation = isolation
            self.mode = mode
            self.readyTimeout = readyTimeout
            self.checkInterval = checkInterval
            self.restartDelay = restartDelay
            self.pidFile = pidFile
        }
    }

    public let configuration: Configuration
    let logger: Logger
    private var process: Process?
    private var installedGuard: DriverPortGuard?
    private var isolationReported = false
    /// Times the managed driver was (re)started.
    public private(set) var starts = 0

    public init(configuration: Configuration, logger: Logger = Logger(label: "breakglass.chromedriver")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The managed child's process id, when one runs.
    public var processIdentifier: Int32? { process?.isRunning == true ? process?.processIdentifier : nil }

    /// The driver's base URL.
    public nonisolated var url: String {
        switch configuration.mode {
        case .external(let url): url.hasSuffix("/") ? String(url.dropLast()) : url
        case .managed(_, let port): "http://127.0.0.1:\(port)"
        }
    }

    /// Whether the driver answers `GET /status` with `ready: true`.
    public func isReady() async -> Bool {
        (try? await WebDriverClient(configuration: .init(url: url, commandTimeout: .seconds(2))).isReady()) ?? false
    }

    /// Starts the managed driver if it is not running, then waits until it is ready (bounded).
    public func start() async throws {
        if case .managed(let binary, let port) = configuration.mode, process?.isRunning != true {
            let reaper = configuration.pidFile.map { StaleDriverReaper(pidFile: URL(fileURLWithPath: $0)) }
            if process == nil, let reaped = reaper?.reap(), reaped > 0 {
                logger.notice(
                    "stopped a chromedriver left running by an earlier run",
                    metadata: ["breakglass.processes": .stringConvertible(reaped)])
            }
            let child = Process()
            child.executableURL = URL(fileURLWithPath: binary)
            child.arguments = ["--port=\(port)"]
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            do { try child.run() } catch {
                throw WebDriverError(code: .sessionNotCreated, command: "start chromedriver")
            }
            process = child
            reaper?.record(driver: child.processIdentifier, port: port)
            starts += 1
            logger.info("chromedriver started", metadata: ["breakglass.port": .stringConvertible(port)])
            try isolate(port: port)
        } else if case .external(let url) = configuration.mode, !isolationReported, configuration.isolation != .off {
            isolationReported = true
            logger.warning(
                Logger.Message(
                    stringLiteral: "webdriver.url is an external driver: keeping other local users off it is "
                        + "the deployment's job (its own container or network namespace, or an owner-match firewall rule; see README)"
                ),
                metadata: ["breakglass.webdriver": "\(url)"])
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.readyTimeout)
        while clock.now < deadline {
            if await isReady() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WebDriverError(code: .commandTimedOut, command: "GET /status")
    }

    /// Installs the port guard for the managed driver (per `configuration.isolation`); `required` and not possible:
    /// the driver is stopped and the start fails.
    private func isolate(port: Int) throws {
        guard configuration.isolation != .off else { return }
        let portGuard = DriverPortGuard(port: port)
        switch portGuard.install() {
        case .installed(let table):
            installedGuard = portGuard
            logger.info(
                "chromedriver's port closed to other local users", metadata: ["breakglass.nft_table": "\(table)"])
        case .unavailable(let why):
            if configuration.isolation == .required {
                stop()
                logger.error(
                    "webdriver.isolation is required but the driver's port cannot be closed to other users",
                    metadata: ["breakglass.cause": "\(why)"])
                throw WebDriverError(code: .sessionNotCreated, command: "isolate chromedriver")
            }
            if !isolationReported {
                isolationReported = true
                logger.warning(
                    Logger.Message(
                        stringLiteral: "cannot tell whether other local users can reach chromedriver on this host; "
                            + "run the worker in its own container or network namespace, or install an owner-match rule (README, Security)"
                    ),
                    metadata: ["breakglass.port": .stringConvertible(port), "breakglass.cause": "\(why)"])
            }
        }
    }

    /// Starts, then watches the child until cancelled (restarting it when it dies); stops it on the way out.
    public func run() async throws {
        try await start()
        do {
            while !Task.isCancelled {
                try await Task.sleep(for: configuration.checkInterval)
                if case .managed = configuration.mode, process?.isRunning != true {
                    logger.info("chromedriver exited; restarting")
                    try await Task.sleep(for: configuration.restartDelay)
                    try await start()
                }
            }
        } catch is CancellationError {}
        stop()
    }

    /// Stops the managed driver: SIGTERM, up to 2 s for it to exit, then SIGKILL. (Polls instead of
    /// `waitUntilExit`, which can block forever inside Swift concurrency on Linux.) A child spawned by `Process`
    /// inherits the runtime's blocked signals, SIGTERM included, so the SIGKILL is what usually ends it: close the
    /// browser sessions (`BrowserPool.close()`) before stopping the driver, or their Chromium processes outlive it.
    public func stop() {
        installedGuard?.remove()
        installedGuard = nil
        guard let child = process else { return }
        process = nil
        guard child.isRunning else { return }
        child.terminate()
        for _ in 0..<100 where child.isRunning { usleep(20_000) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        if let pidFile = configuration.pidFile { StaleDriverReaper(pidFile: URL(fileURLWithPath: pidFile)).clear() }
        logger.info("chromedriver stopped")
    }
}
