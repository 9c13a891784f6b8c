public import Logging

/// Browser sessions of one worker: at most `maximumSessions` (one per in-flight request), reused with a cleaned
/// profile (cookies deleted, `about:blank`), recycled (deleted, a new one made later) after an error.
public actor BrowserPool {
    public struct Configuration: Sendable {
        /// Sessions open at once; requests beyond wait for one. Default 2.
        public var maximumSessions: Int
        /// Page-load bound set on every session (navigation and clicks that navigate). Default 20 s.
        public var pageLoadTimeout: Duration
        /// Script bound set on every session. Default 10 s.
        public var scriptTimeout: Duration

        public init(
            maximumSessions: Int = 2, pageLoadTimeout: Duration = .seconds(20), scriptTimeout: Duration = .seconds(10)
        ) {
            self.maximumSessions = max(1, maximumSessions)
            self.pageLoadTimeout = pageLoadTimeout
            self.scriptTimeout = scriptTimeout
        }
    }

    public let client: WebDriverClient
    public let configuration: Configuration
    let logger: Logger
    private var idle: [WebDriverSession] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    /// Sessions created, reused and recycled since the pool started (for metrics).
    public private(set) var created = 0
    public private(set) var reused = 0
    public private(set) var recycled = 0

    public init(
        client: WebDriverClient, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "breakglass.browser-pool")
    ) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// Sessions currently open (idle or leased).
    public var openSessions: Int { open }

    /// A session for one request; give it back with `release`.
    public func lease() async throws -> WebDriverSession {
        while true {
            if closed { throw WebDriverError(code: .sessionNotCreated, command: "pool closed") }
            if let session = idle.popLast() {
                reused += 1
                return session
            }
            if open < configuration.maximumSessions {
                open += 1
                do {
                    let session = try await client.newSession()
                    try await session.setTimeouts(
                        .init(
                            implicit: .zero, pageLoad: configuration.pageLoadTimeout,
                            script: configuration.scriptTimeout))
                    created += 1
                    return session
                } catch {
                    open -= 1
                    wakeOne()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Returns a session: cleaned and kept when `healthy`, deleted otherwise (or when cleaning fails).
    public func release(_ session: WebDriverSession, healthy: Bool) async {
        if healthy, !closed {
            do {
                try await session.deleteAllCookies()
                try await session.navigate(to: "about:blank")
                try await session.setTimeouts(
                    .init(
                        implicit: .zero, pageLoad: configuration.pageLoadTimeout,
                        script: configuration.scriptTimeout))
                idle.append(session)
                wakeOne()
                return
            } catch {
                logger.info("browser session could not be cleaned; recycling it")
            }
        }
        recycled += 1
        try? await session.delete()
        open -= 1
        wakeOne()
    }

    /// Runs `body` with a leased session; the session is recycled when `body` reports it broken or throws.
    public func withSession<T: Sendable>(
        _ body: (WebDriverSession) async throws -> (T, healthy: Bool)
    ) async throws -> T {
        let session = try await lease()
        do {
            let (value, healthy) = try await body(session)
            await release(session, healthy: healthy)
            return value
        } catch {
            await release(session, healthy: false)
            throw error
        }
    }

    /// Closes every idle session and refuses new leases; leased sessions are deleted when released.
    public func close() async {
        closed = true
        let sessions = idle
        idle = []
        for session in sessions {
            try? await session.delete()
            open -= 1
        }
        let pending = waiters
        waiters = []
        for waiter in pending { waiter.resume() }
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
