import BreakGlassCore
public import BreakGlassLedger
public import Foundation
public import Logging
import PostgresNIO
import Synchronization

/// The worker's memory shared by every host (issue 17): the `Ledger` seam on one PostgreSQL database.
///
/// The same promises as `SQLiteLedger`, with the same state machine in Swift and the same edges enforced again by the
/// database (PL/pgSQL triggers, `PostgresLedgerSchema`):
/// - every write is one transaction on one connection: the row is locked (`SELECT … FOR UPDATE`), the server's clock
///   read (`clock_timestamp()`: leases are judged by the server, never by a worker's clock), the transition applied
///   in Swift, and the row updated under `WHERE epoch = <epoch read>` (fencing);
/// - a new key is inserted with `INSERT … ON CONFLICT DO NOTHING`, so two hosts racing on one key serialise: the
///   loser sees the winner's row (`.inProgress`);
/// - outbox events are written in the same transaction, with `pg_notify('breakglass_outbox')` delivered at commit to
///   every ledger's LISTEN, which rings its `doorbell` (a wake-up only: the relay polls as well);
/// - a write returns once committed with `synchronous_commit` on (checked at `open`, with `fsync`).
///
/// Open with `open(configuration:logger:)`; call `shutdown()` when done.
public final class PostgresLedger: Ledger {
    /// The settings the ledger was opened with.
    public let configuration: Configuration
    /// The server's clock told locally (never behind the server): `clock` reads it.
    package let databaseClock: DatabaseClock
    /// Now, by the server's clock (see `DatabaseClock`).
    public let clock: @Sendable () -> Date
    /// Rung after every commit of this ledger that wrote outbox events, and on every `breakglass_outbox`
    /// notification (another process or host wrote some).
    public let doorbell: Doorbell
    let client: PostgresClient
    let logger: Logger
    /// The logger handed to PostgresNIO: at most `info` (its debug and trace lines describe statements).
    let queryLogger: Logger
    let decisionCache = Mutex<[RestorationKey: Decision]>([:])
    private let runTask: Task<Void, Never>
    private let listenTask: Task<Void, Never>

    private init(
        configuration: Configuration, databaseClock: DatabaseClock, doorbell: Doorbell, client: PostgresClient,
        logger: Logger, queryLogger: Logger, runTask: Task<Void, Never>, listenTask: Task<Void, Never>
    ) {
        self.configuration = configuration
        self.databaseClock = databaseClock
        let shift = configuration.testClockShift
        self.clock = { databaseClock.now().addingTimeInterval(shift?() ?? 0) }
        self.doorbell = doorbell
        self.client = client
        self.logger = logger
        self.queryLogger = queryLogger
        self.runTask = runTask
        self.listenTask = listenTask
    }

    deinit {
        // `shutdown()` is the orderly way; a ledger dropped without it still stops its background work.
        listenTask.cancel()
        runTask.cancel()
    }

    /// Opens the ledger: connects (within `connectTimeout`), creates the schema when missing (under an advisory
    /// lock, so several hosts may start at once), checks durability (`synchronous_commit` on, `remote_write` or
    /// `remote_apply`; `fsync` on), anchors the clock on the server's (best of three round trips), then starts the
    /// connection pool and the LISTEN that rings `doorbell`.
    ///
    /// Throws `LedgerError` (`open-failed`, `invalid-input`); details name `host:port` and the cause, never the
    /// password.
    public static func open(
        configuration: Configuration, logger: Logger = Logger(label: "breakglass.ledger")
    ) async throws -> PostgresLedger {
        guard configuration.maximumConnections >= 2 else {
            throw LedgerError.invalidInput("maximumConnections must be at least 2 (one is held by the LISTEN)")
        }
        guard configuration.leaseDuration > .zero, configuration.maximumResumes >= 0 else {
            throw LedgerError.invalidInput("lease duration or maximum resumes")
        }
        var queryLogger = logger
        queryLogger.logLevel = max(logger.logLevel, .info)
        var logger = logger
        logger[metadataKey: "breakglass.ledger.backend"] = "postgres"
        logger[metadataKey: "breakglass.ledger.location"] = "\(configuration.redactedURL)"
        let endpoint = configuration.endpoint

        let tls: TLSConfiguration?
        do {
            tls = try makeTLS(configuration.tls)
        } catch {
            throw LedgerError.openFailed(detail: "TLS settings for \(endpoint): \(describe(error))", underlying: error)
        }

        // One direct connection for the set-up: its failure names the cause (refused, TLS, authentication).
        let anchor: DatabaseClock.Anchor
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(configuration, tls: tls), id: 0, logger: queryLogger)
            do {
                try await setUp(connection, configuration: configuration, logger: queryLogger)
                anchor = try await sampleClock(connection, logger: queryLogger)
            } catch {
                try? await connection.close()
                throw error
            }
            try? await connection.close()
        } catch {
            let mapped = map(error, key: nil, endpoint: endpoint)
            if mapped.code == .database {
                throw LedgerError.openFailed(detail: mapped.detail ?? "cannot open \(endpoint)", underlying: error)
            }
            throw mapped
        }

        let client = PostgresClient(
            configuration: clientConfiguration(configuration, tls: tls), backgroundLogger: queryLogger)
        let doorbell = Doorbell()
        // Nothing leases a connection before the pool's run loop has begun (postgres-nio warns otherwise): the run
        // task says when it starts, and both the LISTEN and the caller wait for that.
        let (started, startedSignal) = AsyncStream<Void>.makeStream()
        let runTask = Task {
            startedSignal.finish()
            await client.run()
        }
        for await _ in started {}
        let listenLogger = logger
        let listenTask = Task {
            await Task.yield()
            await listen(client: client, doorbell: doorbell, endpoint: endpoint, logger: listenLogger)
        }
        let ledger = PostgresLedger(
            configuration: configuration, databaseClock: DatabaseClock(anchor: anchor), doorbell: doorbell,
            client: client, logger: logger, queryLogger: queryLogger, runTask: runTask, listenTask: listenTask)
        logger.info(
            "ledger opened",
            metadata: ["breakglass.ledger.clock_round_trip_ms": "\(Int(anchor.roundTrip.ledgerSeconds * 1000))"])
        return ledger
    }

    /// Stops the LISTEN and closes every connection (awaiting both). Idempotent; the ledger takes no work after it.
    public func shutdown() async {
        listenTask.cancel()
        await listenTask.value
        runTask.cancel()
        await runTask.value
    }

    // MARK: - Ledger

    /// How long a claim lasts without renewal.
    public var leaseDuration: Duration { configuration.leaseDuration }
    /// How often a person may resume one key.
    public var maximumResumes: Int { configuration.maximumResumes }
    /// The URL without its password.
    public var location: String { configuration.redactedURL }
    /// `postgres`.
    public var backend: String { "postgres" }

    // MARK: - Set-up

    private static func makeTLS(_ mode: Configuration.TLSMode) throws -> TLSConfiguration? {
        switch mode {
        case .disable:
            return nil
        case .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        case .verifyFull(let caFile):
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if let caFile {
                guard FileManager.default.isReadableFile(atPath: caFile) else {
                    throw LedgerError.invalidInput("the CA file \(caFile) cannot be read")
                }
                tls.trustRoots = .file(caFile)
            }
            return tls
        }
    }

    private static func connectionConfiguration(
        _ configuration: Configuration, tls: TLSConfiguration?
    ) throws -> PostgresConnection.Configuration {
        let mode: PostgresConnection.Configuration.TLS =
            try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        var result = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: mode)
        result.options.connectTimeout = .nanoseconds(
            Int64(configuration.connectTimeout.ledgerSeconds * 1_000_000_000))
        return result
    }

    private static func clientConfiguration(
        _ configuration: Configuration, tls: TLSConfiguration?
    ) -> PostgresClient.Configuration {
        var result = PostgresClient.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database,
            tls: tls.map { .require($0) } ?? .disable)
        result.options.connectTimeout = configuration.connectTimeout
        result.options.maximumConnections = configuration.maximumConnections
        result.options.minimumConnections = 0
        return result
    }

    /// Creates or completes the schema (one transaction under the advisory lock), then checks durability.
    private static func setUp(
        _ connection: PostgresConnection, configuration: Configuration, logger: Logger
    ) async throws {
        let session = PostgresSession(
            connection: connection, logger: logger,
            clock: DatabaseClock(anchor: .init(server: 0, sentAt: .now, roundTrip: .zero)), shift: 0)
        try await session.transaction {
            try await session.run("SELECT pg_advisory_xact_lock(hashtext(\(PostgresLedgerSchema.lockName)))")
            try await session.run(
                """
                CREATE TABLE IF NOT EXISTS schema_version (
                    version integer PRIMARY KEY,
                    applied_at double precision NOT NULL
                )
                """)
            let current =
                try await session.rows("SELECT max(version) FROM schema_version").first.map {
                    try $0.makeRandomAccess()[0].decode(Int?.self)
                } ?? nil
            if let current, current >= PostgresLedgerSchema.version {
                if current > PostgresLedgerSchema.version {
                    logger.warning(
                        "the ledger's schema is newer than this worker's",
                        metadata: [
                            "breakglass.ledger.schema_version": "\(current)",
                            "breakglass.ledger.known_version": "\(PostgresLedgerSchema.version)",
                        ])
                }
                return
            }
            for statement in PostgresLedgerSchema.statements {
                try await session.run(PostgresQuery(unsafeSQL: statement))
            }
            try await session.run(
                """
                INSERT INTO schema_version (version, applied_at)
                VALUES (\(PostgresLedgerSchema.version), \(unescaped: PostgresSession.nowSQL))
                ON CONFLICT (version) DO NOTHING
                """)
            logger.info(
                "ledger schema installed",
                metadata: ["breakglass.ledger.schema_version": "\(PostgresLedgerSchema.version)"])
        }
        let rows = try await session.rows(
            "SELECT current_setting('synchronous_commit'), current_setting('fsync')")
        guard let row = rows.first else { throw LedgerError.openFailed(detail: "cannot read the durability settings") }
        let settings = row.makeRandomAccess()
        let synchronousCommit = try settings[0].decode(String.self)
        let fsync = try settings[1].decode(String.self)
        guard durableCommitSettings.contains(synchronousCommit) else {
            throw LedgerError.notDurable(
                detail: "\(configuration.endpoint): synchronous_commit = \(synchronousCommit), expected on, "
                    + "remote_write or remote_apply (a decision acknowledged must survive a crash)")
        }
        guard fsync == "on" else {
            throw LedgerError.notDurable(detail: "\(configuration.endpoint): fsync = \(fsync), expected on")
        }
    }

    /// The `synchronous_commit` values under which a commit returns only once durable.
    static let durableCommitSettings: Set<String> = ["on", "remote_write", "remote_apply"]

    /// Three clock reads; the one with the smallest round trip anchors the ledger's clock.
    private static func sampleClock(
        _ connection: PostgresConnection, logger: Logger
    ) async throws
        -> DatabaseClock.Anchor
    {
        var samples: [DatabaseClock.Anchor] = []
        for _ in 0..<3 {
            let sentAt = ContinuousClock.now
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(PostgresSession.nowSQL)"), logger: logger
            ).collect()
            let receivedAt = ContinuousClock.now
            guard let row = rows.first else { continue }
            let server = try row.makeRandomAccess()[0].decode(Double.self)
            samples.append(.init(server: server, sentAt: sentAt, roundTrip: sentAt.duration(to: receivedAt)))
        }
        guard let best = DatabaseClock.best(of: samples) else {
            throw LedgerError.openFailed(detail: "cannot read the server's clock")
        }
        return best
    }

    // MARK: - Plumbing

    /// One transaction on one pooled connection, errors mapped to `LedgerError`. A serialization failure or a
    /// deadlock (40001, 40P01) is retried once: the body only reads and writes the database, so a rerun is safe.
    func write<T: Sendable>(
        _ key: RestorationKey?, _ body: (PostgresSession) async throws -> T
    ) async throws -> T {
        var retried = false
        while true {
            do {
                return try await client.withConnection { connection in
                    try await self.bounded(connection) { connection in
                        let session = self.session(connection)
                        return try await session.transaction { try await body(session) }
                    }
                }
            } catch {
                if !retried, Self.isTransient(error) {
                    retried = true
                    logger.debug(
                        "ledger write retried after a serialization failure",
                        metadata: ["breakglass.ledger.key": "\(key.map { "\($0)" } ?? "-")"])
                    continue
                }
                throw Self.map(error, key: key, endpoint: configuration.endpoint)
            }
        }
    }

    /// Statements outside a transaction (each one its own: a single SELECT sees one snapshot; a single
    /// UPDATE/INSERT/DELETE commits on its own).
    func autocommit<T: Sendable>(_ key: RestorationKey?, _ body: (PostgresSession) async throws -> T) async throws -> T
    {
        do {
            return try await client.withConnection { connection in
                try await self.bounded(connection) { connection in try await body(self.session(connection)) }
            }
        } catch {
            throw Self.map(error, key: key, endpoint: configuration.endpoint)
        }
    }

    /// Runs `body` on `connection`, closing the connection when it takes longer than `operationTimeout`: the query
    /// in flight then fails at once (postgres-nio does not cancel a running query; a closed channel fails it). The
    /// watchdog is a child task, cancelled as soon as `body` returns.
    func bounded<T: Sendable>(
        _ connection: PostgresConnection, isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let timeout = configuration.operationTimeout
        let expired = ExpiryFlag()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                expired.set()
                try? await connection.close()
            }
            defer { group.cancelAll() }
            do {
                return try await body(connection)
            } catch {
                guard expired.isSet else { throw error }
                throw LedgerError.database(
                    nil,
                    detail: "\(configuration.endpoint): no answer within \(timeout); the connection was closed",
                    underlying: error)
            }
        }
    }

    /// A session on a leased connection, with the test shift of the clock read once for the operation.
    func session(_ connection: PostgresConnection) -> PostgresSession {
        PostgresSession(
            connection: connection, logger: queryLogger, clock: databaseClock,
            shift: configuration.testClockShift?() ?? 0)
    }

    func leaseEnd(from now: Date, _ duration: Duration?) -> Date {
        now.addingTimeInterval((duration ?? configuration.leaseDuration).ledgerSeconds)
    }

    static func validate(_ key: RestorationKey) throws {
        guard Identifier.isValid(key.caseID), Identifier.isValid(key.tenantID) else {
            throw LedgerError.invalidInput("restoration key")
        }
    }

    func remember(_ decision: Decision) {
        let limit = configuration.decisionCacheLimit
        guard decision.state.isFinal, limit > 0 else { return }
        decisionCache.withLock { cache in
            if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
            cache[decision.key] = decision
        }
    }

    func forget(_ key: RestorationKey) {
        _ = decisionCache.withLock { $0.removeValue(forKey: key) }
    }
}

/// Set once by `PostgresLedger.bounded`'s watchdog when it closed the connection.
final class ExpiryFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
