import BreakGlassCore
public import Foundation
import GRDB
public import Logging
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The worker's memory: one SQLite file (WAL, `synchronous = FULL`) shared by every worker process.
///
/// - At most one grant per `RestorationKey` (UNIQUE, triggers; see `LedgerSchema`).
/// - Claims with owner, lease and epoch (fencing token); every write checks the epoch.
/// - A transactional outbox: events are written in the same transaction as the state change they announce;
///   `OutboxRelay` publishes them.
/// - Concurrent writes of one process are group-committed (`WriteBatcher`); a write returns only once durable.
public final class SQLiteLedger: Sendable {
    public struct Configuration: Sendable {
        /// The SQLite file. Created (with its schema) when missing.
        public var path: String
        /// How long a write waits for another process's write lock before failing. Default 5 s (as `ledger.busy_timeout_ms`).
        public var busyTimeout: Duration = .seconds(5)
        /// How long a claim lasts without renewal. Default 120 s (as `ledger.lease_seconds`).
        public var leaseDuration: Duration = .seconds(120)
        /// How often a person may resume one key (issue 10). Default 3.
        public var maximumResumes: Int = 3
        /// The most writes group-committed in one transaction. Default 256.
        public var maximumBatchSize: Int = 256
        /// Reader connections. Default 4.
        public var maximumReaders: Int = 4
        /// Final decisions kept in memory for `decision(for:)`; the cache is emptied when full. Default 100,000.
        public var decisionCacheLimit: Int = 100_000
        /// The time source for leases and timestamps (tests inject a manual clock). Default `nil`: the ledger's
        /// `LeaseClock` (the boot clock anchored in the file, the same for every process of the host).
        public var clock: (@Sendable () -> Date)?
        /// Where the default `LeaseClock` reads the boot clock, the wall clock and the boot id. Tests only.
        public var clockSource: LeaseClock.Source = .system

        public init(path: String) {
            self.path = path
        }
    }

    public let configuration: Configuration
    /// The clock leases are judged by (see `Configuration.clock`).
    public let clock: @Sendable () -> Date
    /// The anchored boot clock when no clock was injected.
    public let leaseClock: LeaseClock?
    let pool: DatabasePool
    /// The duplicate path's decided-state read on a connection of its own (nil: read through `pool`).
    let stateReader: SQLiteStateReader?
    let batcher: WriteBatcher
    let logger: Logger
    let decisionCache = Mutex<[RestorationKey: Decision]>([:])
    let writeHealth = Mutex(WriteHealth())
    /// Rung after every commit that wrote outbox events (the relay's in-process wake-up).
    public let doorbell = Doorbell()

    public init(configuration: Configuration, logger: Logger = Logger(label: "breakglass.ledger")) throws {
        self.configuration = configuration
        self.logger = logger
        var config = GRDB.Configuration()
        // SQLite's stock busy handler sleeps 1, 2, 5, … up to 100 ms between attempts: fine for a lock held long,
        // poor when several processes take turns committing small transactions. Poll briefly first, then every ms.
        let budget = Self.seconds(configuration.busyTimeout)
        config.busyMode = .callback { tries in
            let waited = tries < 100 ? Double(tries) * 0.0001 : 0.01 + Double(tries - 100) * 0.001
            guard waited < budget else { return false }
            usleep(tries < 100 ? 100 : 1000)
            return true
        }
        config.maximumReaderCount = max(1, configuration.maximumReaders)
        config.label = "breakglass.ledger"
        config.foreignKeysEnabled = true
        do {
            // Creating the file and migrating it are serialised across processes by an advisory file lock:
            // GRDB's migrator reads the applied migrations outside the migration's transaction.
            let pool = try Self.withOpenLock(path: configuration.path) { () throws -> DatabasePool in
                let pool = try DatabasePool(path: configuration.path, configuration: config)
                try LedgerSchema.migrator.migrate(pool)
                return pool
            }
            // DatabasePool sets synchronous = NORMAL in WAL mode; the ledger needs FULL on the writer: a decision
            // acknowledged is a decision that survives a power cut.
            try pool.barrierWriteWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
                guard synchronous == 2 else { throw LedgerError.notDurable(synchronous: synchronous) }
                let journal = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
                guard journal == "wal" else { throw LedgerError.openFailed(detail: "journal_mode = \(journal)") }
            }
            self.pool = pool
            if let injected = configuration.clock {
                clock = injected
                leaseClock = nil
            } else {
                let anchored = try LeaseClock.anchored(in: pool, source: configuration.clockSource)
                clock = { anchored.now() }
                leaseClock = anchored
            }
        } catch let error as LedgerError {
            throw error
        } catch {
            throw LedgerError.openFailed(detail: Self.describe(error), underlying: error)
        }
        batcher = WriteBatcher(pool: pool, maximumBatchSize: configuration.maximumBatchSize)
        // A short busy timeout: a read that meets a lock (WAL recovery after another process crashed) must not hold
        // a cooperative thread for seconds; `decidedState` then reads through the pool, with its own busy handling.
        stateReader = SQLiteStateReader(path: configuration.path, busyTimeoutMilliseconds: 50)
        logger.debug("ledger opened", metadata: ["breakglass.ledger.path": "\(configuration.path)"])
    }

    /// The writer connection's durability settings, read back from SQLite.
    public func durability() throws -> (journalMode: String, synchronous: Int) {
        try pool.writeWithoutTransaction { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            )
        }
    }

    /// Write transactions this instance committed and the operations they carried (group commit at work).
    public var writeStatistics: (transactions: Int, operations: Int) { batcher.statistics }

    /// `PRAGMA integrity_check` (for tests and `ledger stats`).
    public func integrityCheck() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "" }
    }

    // MARK: - Plumbing

    var now: Date { clock() }

    func leaseEnd(from now: Date, _ duration: Duration?) -> Date {
        now.addingTimeInterval(Self.seconds(duration ?? configuration.leaseDuration))
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// A durable write (group-committed), with errors mapped to `LedgerError`.
    func write<T: Sendable>(
        _ key: RestorationKey?, _ operation: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            let value = try await batcher.write(operation)
            writeHealth.withLock { $0.lastSuccess = ContinuousClock.now }
            return value
        } catch {
            let mapped = Self.map(error, key: key)
            if mapped.code == .database {
                writeHealth.withLock { $0.lastFailure = (ContinuousClock.now, mapped.detail ?? "database error") }
            }
            throw mapped
        }
    }

    /// Whether the ledger takes writes now: the last write did not fail with a database error (busy, I/O, disk
    /// full), and a real file of `probeBytes` can be created, synced and removed beside the ledger (SQLite may still
    /// reuse WAL space on a full disk, which a row write alone would not notice). Never throws; the detail names the
    /// path and the cause.
    public func writeProbe(probeBytes: Int) -> (ok: Bool, detail: String) {
        let health = writeHealth.withLock { $0 }
        if let failure = health.lastFailure, health.lastSuccess.map({ $0 < failure.at }) ?? true {
            return (false, "the last ledger write failed: \(failure.detail)")
        }
        let probe = configuration.path + ".write-probe"
        let descriptor = open(probe, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return (false, "cannot create \(probe) (errno \(errno))") }
        defer {
            close(descriptor)
            unlink(probe)
        }
        let chunk = [UInt8](repeating: 0, count: max(1, probeBytes))
        let written = chunk.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == chunk.count else { return (false, "cannot write \(probe) (errno \(errno))") }
        guard fsync(descriptor) == 0 else { return (false, "cannot sync \(probe) (errno \(errno))") }
        return (true, "writable")
    }

    struct WriteHealth {
        var lastSuccess: ContinuousClock.Instant?
        var lastFailure: (at: ContinuousClock.Instant, detail: String)?
    }

    /// A read of one statement: no wrapping transaction needed (one SELECT sees one snapshot).
    func readOne<T>(_ key: RestorationKey?, _ operation: (Database) throws -> T) throws -> T {
        do {
            return try pool.unsafeRead(operation)
        } catch {
            throw Self.map(error, key: key)
        }
    }

    func read<T>(_ key: RestorationKey?, _ operation: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(operation)
        } catch {
            throw Self.map(error, key: key)
        }
    }

    static func map(_ error: any Error, key: RestorationKey?) -> LedgerError {
        if let error = error as? LedgerError { return error }
        if let error = error as? RestorationStateMachine.TransitionError {
            switch error.code {
            case .fenced:
                return .fenced(
                    key ?? RestorationKey(caseID: "?", tenantID: "?"), held: error.heldEpoch ?? -1,
                    current: error.currentEpoch)
            case .leaseHeld:
                return .leaseHeld(key ?? RestorationKey(caseID: "?", tenantID: "?"), owner: error.owner ?? "?")
            case .leaseLapsed:
                return .leaseLapsed(key ?? RestorationKey(caseID: "?", tenantID: "?"), state: error.state)
            case .resumeLimit:
                return .resumeLimit(
                    key ?? RestorationKey(caseID: "?", tenantID: "?"), resumes: Int(error.currentEpoch ?? 0))
            case .forbidden:
                return .forbiddenTransition(
                    key, from: error.state, detail: "transition \(error.transition?.rawValue ?? "?")")
            }
        }
        if let error = error as? DatabaseError {
            let message = error.message ?? ""
            if error.resultCode == .SQLITE_CONSTRAINT, message.hasPrefix("breakglass:") {
                return .forbiddenTransition(key, from: nil, detail: message)
            }
            return .database(key, detail: "SQLite \(error.extendedResultCode.rawValue): \(message)", underlying: error)
        }
        return .database(key, detail: describe(error), underlying: error)
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError {
            return "SQLite \(error.extendedResultCode.rawValue): \(error.message ?? "")"
        }
        return String(describing: type(of: error))
    }

    static func validate(_ key: RestorationKey) throws {
        guard Identifier.isValid(key.caseID), Identifier.isValid(key.tenantID) else {
            throw LedgerError.invalidInput("restoration key")
        }
    }

    private static func withOpenLock<T>(path: String, _ body: () throws -> T) throws -> T {
        let descriptor = open(path + ".open-lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw LedgerError.openFailed(detail: "cannot create the open lock (errno \(errno))")
        }
        defer { close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw LedgerError.openFailed(detail: "cannot take the open lock (errno \(errno))")
            }
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}
