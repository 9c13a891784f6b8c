import BreakGlassCore
import GRDBSQLite
import Synchronization

/// The duplicate path's one read per copy (issue 21): a key's decided state, on a connection of its own with its
/// statement prepared once. Through GRDB's pool the same query cost more around it than in it (a reader checked out,
/// a dispatch queue, a schema-version check per read); here it is a lock, two binds, one step and a reset.
///
/// Each step is its own read transaction (autocommit), ended by the reset right after it, so every read sees the
/// last commit of any process and no snapshot is held open between reads.
final class SQLiteStateReader: Sendable {
    private struct Handles {
        let database: OpaquePointer
        let statement: OpaquePointer
    }

    static let sql = """
        SELECT state FROM restorations
        WHERE case_id = ?1 AND tenant_id = ?2 AND state IN ('granted', 'rejected', 'resolved', 'halted')
        """

    private let handles: Mutex<Handles>

    /// nil when the file cannot be opened or the statement not prepared (the caller reads through its pool).
    init?(path: String, busyTimeoutMilliseconds: Int32) {
        var database: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &database, flags, nil) == SQLITE_OK, let database else {
            sqlite3_close(database)
            return nil
        }
        sqlite3_busy_timeout(database, busyTimeoutMilliseconds)
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, Self.sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            sqlite3_close(database)
            return nil
        }
        handles = Mutex(Handles(database: database, statement: statement))
    }

    deinit {
        handles.withLock { handles in
            sqlite3_finalize(handles.statement)
            sqlite3_close(handles.database)
        }
    }

    /// The state of `key` when it is decided, nil otherwise.
    func decidedState(_ key: RestorationKey) throws(LedgerError) -> RestorationState? {
        let outcome = handles.withLock { handles -> Result<RestorationState?, LedgerError> in
            let statement = handles.statement
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            // SQLITE_TRANSIENT: SQLite copies the text before the closure's buffer goes away.
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            let bound =
                key.caseID.withCString { sqlite3_bind_text(statement, 1, $0, -1, transient) } == SQLITE_OK
                && key.tenantID.withCString { sqlite3_bind_text(statement, 2, $0, -1, transient) } == SQLITE_OK
            guard bound else {
                return .failure(.database(key, detail: "state read: bind failed", underlying: nil))
            }
            switch sqlite3_step(statement) {
            case SQLITE_DONE:
                return .success(nil)
            case SQLITE_ROW:
                guard let text = sqlite3_column_text(statement, 0),
                    let state = RestorationState(rawValue: String(cString: text))
                else { return .failure(.database(key, detail: "unknown state in the ledger", underlying: nil)) }
                return .success(state)
            case let code:
                let detail = "state read failed (SQLite code \(code))"
                return .failure(.database(key, detail: detail, underlying: nil))
            }
        }
        return try outcome.get()
    }
}
