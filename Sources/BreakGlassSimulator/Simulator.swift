import Foundation
public import Hummingbird
public import Logging
import ServiceLifecycle

/// The reference environment: the contract's live sources (`/v1/...`, bearer token), the browser-only emergency
/// admin console (`/console/...`), and a test-control API (`/control/...`, its own bearer token).
///
/// ```swift
/// let simulator = try Simulator(configuration: .init(apiToken: a, controlToken: c), fixtures: fixtures)
/// try await simulator.withRunning { running in
///     // running.baseURL is http://127.0.0.1:<bound port>
/// }
/// ```
public struct Simulator: Sendable {
    public struct Configuration: Sendable {
        /// Address to bind. Default `127.0.0.1`.
        public var host: String
        /// Port to bind; 0 picks a free one (read it from `RunningSimulator.port`). Default 0.
        public var port: Int
        /// Bearer token of the live-source API (`/v1`).
        public var apiToken: String
        /// Bearer token of the test-control API (`/control`).
        public var controlToken: String
        /// Largest request body accepted (fixtures documents included). Default 4 MiB.
        public var maximumBodyBytes: Int

        public init(
            host: String = "127.0.0.1", port: Int = 0, apiToken: String, controlToken: String,
            maximumBodyBytes: Int = 4 << 20
        ) {
            self.host = host
            self.port = port
            self.apiToken = apiToken
            self.controlToken = controlToken
            self.maximumBodyBytes = maximumBodyBytes
        }
    }

    public let configuration: Configuration
    public let state: SimulatorState
    let logger: Logger

    public init(
        configuration: Configuration, fixtures: SimulatorFixtures,
        logger: Logger = Logger(label: "breakglass.simulator")
    ) throws {
        guard !configuration.apiToken.isEmpty, !configuration.controlToken.isEmpty else {
            throw SimulatorError.configurationInvalid("the API token and the control token must not be empty")
        }
        guard configuration.apiToken != configuration.controlToken else {
            throw SimulatorError.configurationInvalid("the API token and the control token must differ")
        }
        guard (0...65_535).contains(configuration.port) else {
            throw SimulatorError.configurationInvalid("port must be 0...65535")
        }
        try fixtures.validate()
        self.configuration = configuration
        self.state = SimulatorState(fixtures: fixtures)
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` receives the bound port once the server listens.
    public func makeApplication(
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        router.get("/health") { _, _ in SimulatorResponse.json(["status": "ok"]) }
        addLiveSourceRoutes(to: router)
        addControlRoutes(to: router)
        router.add(middleware: OffsiteMiddleware<BasicRequestContext>(state: state))
        addConsoleRoutes(to: router)
        let logger = self.logger
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "breakglass-simulator"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("simulator listening", metadata: ["breakglass.port": .stringConvertible(port)])
                await onRunning(port)
            },
            logger: logger
        )
    }

    /// Runs until the task is cancelled (or the server fails).
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onRunning: onRunning).run()
    }

    /// Starts the simulator, runs `body` with its address, then shuts it down gracefully (hanging submits are
    /// released first).
    public func withRunning<R>(_ body: (RunningSimulator) async throws -> R) async throws -> R {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = makeApplication { port in continuation.yield(port) }
        let serviceGroup = ServiceGroup(configuration: .init(services: [application], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await serviceGroup.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.next()
                throw SimulatorError.configurationInvalid("the server stopped before listening")
            }
            let running = RunningSimulator(host: configuration.host, port: port, state: state)
            let result: Result<R, any Error>
            do {
                result = .success(try await body(running))
            } catch {
                result = .failure(error)
            }
            await state.releaseHangingRequests()
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return try result.get()
        }
    }
}
