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

        /// A session signed in ahead (`SignInAhead`) older than this is handed out as a plain one (its flow signs
        /// in from the start). Default 120 s, well inside a console's idle timeout.
        public var signInAheadMaximumAge: Duration

        public init(
            maximumSessions: Int = 2, pageLoadTimeout: Duration = .seconds(20), scriptTimeout: Duration = .seconds(10),
            signInAheadMaximumAge: Duration = .seconds(120)
        ) {
            self.maximumSessions = max(1, maximumSessions)
            self.pageLoadTimeout = pageLoadTimeout
            self.scriptTimeout = scriptTimeout
            self.signInAheadMaximumAge = signInAheadMaximumAge
        }
    }

    /// An idle session: signed in ahead or not; `signable` until a sign-in ahead failed on it.
    struct Idle {
        var session: WebDriverSession
        var signedIn: SignInAhead?
        var signable: Bool
    }

    public let client: WebDriverClient
    public let configuration: Configuration
    let logger: Logger
    private var idle: [Idle] = []
    private var open = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    /// Sessions created, reused and recycled since the pool started (for metrics).
    public private(set) var created = 0
    public private(set) var reused = 0
    public private(set) var recycled = 0
    /// Sessions signed in ahead, and leases that used one.
    public private(set) var signedInAhead = 0
    public private(set) var signedInLeases = 0

    /// Yields when a session was given back (a sign-in ahead may start); see `takeForSigningIn`.
    public nonisolated let releases: AsyncStream<Void>
    private let releaseSignal: AsyncStream<Void>.Continuation

    public init(
        client: WebDriverClient, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "breakglass.browser-pool")
    ) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        (releases, releaseSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Sessions currently open (idle or leased).
    public var openSessions: Int { open }

    /// A session for one request; give it back with `release`. A session signed in ahead is handed out as a plain
    /// one (its caller starts clean); see `leaseForFlow`.
    public func lease() async throws -> WebDriverSession {
        try await leaseForFlow(preferSignedIn: false).session
    }

    /// A session for one request's flow: one signed in ahead (no older than `signInAheadMaximumAge`) when there is
    /// one, with that sign-in; otherwise a plain one.
    public func leaseForFlow(
        preferSignedIn: Bool = true
    ) async throws -> (
        session: WebDriverSession, signedIn: SignInAhead?
    ) {
        while true {
            if closed { throw WebDriverError(code: .sessionNotCreated, command: "pool closed") }
            let index =
                preferSignedIn
                ? idle.lastIndex { $0.signedIn != nil } ?? idle.indices.last
                : idle.lastIndex { $0.signedIn == nil } ?? idle.indices.last
            if let index {
                let entry = idle.remove(at: index)
                reused += 1
                guard preferSignedIn, let signedIn = entry.signedIn,
                    signedIn.age <= configuration.signInAheadMaximumAge
                else { return (entry.session, nil) }
                signedInLeases += 1
                return (entry.session, signedIn)
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
                    return (session, nil)
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
                idle.append(Idle(session: session, signedIn: nil, signable: true))
                wakeOne()
                releaseSignal.yield()
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

    /// An idle session not yet signed in ahead, taken out of the pool for `ConsoleDriver.signInAhead`; `nil` when
    /// there is none, the pool is closed, or a request waits for a session (requests come first). Give it back with
    /// `returnSignedIn`.
    public func takeForSigningIn() -> WebDriverSession? {
        guard !closed, waiters.isEmpty,
            let index = idle.lastIndex(where: { $0.signedIn == nil && $0.signable })
        else { return nil }
        return idle.remove(at: index).session
    }

    /// Gives back a session taken by `takeForSigningIn`: signed in (`signedIn`), or, when the sign-in failed, kept
    /// as a plain session (not signed in ahead again until it served a request) or recycled when it is broken.
    public func returnSignedIn(_ session: WebDriverSession, signedIn: SignInAhead?, healthy: Bool) async {
        guard !closed, healthy || signedIn != nil else {
            recycled += 1
            try? await session.delete()
            open -= 1
            wakeOne()
            return
        }
        if signedIn != nil { signedInAhead += 1 }
        idle.append(Idle(session: session, signedIn: signedIn, signable: false))
        wakeOne()
    }

    /// Closes every idle session and refuses new leases; leased sessions are deleted when released.
    public func close() async {
        closed = true
        releaseSignal.finish()
        let sessions = idle.map(\.session)
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
