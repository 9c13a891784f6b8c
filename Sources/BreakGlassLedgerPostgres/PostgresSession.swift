import BreakGlassCore
import BreakGlassLedger
import Foundation
import Logging
import PostgresNIO

/// One leased connection and what a ledger operation does on it: statements, the server's clock, transactions.
struct PostgresSession {
    let connection: PostgresConnection
    let logger: Logger
    let clock: DatabaseClock
    /// Seconds added to the server's clock: 0, except in tests (`Configuration.testClockShift`).
    let shift: Double

    /// The server's clock as seconds since 1970 (`extract` returns `numeric` since PostgreSQL 14: cast).
    static let nowSQL = "extract(epoch from clock_timestamp())::float8"

    /// Runs one statement and collects its rows.
    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    /// Runs one statement; returns how many rows it returned (an UPDATE … RETURNING 1 counts the rows it changed).
    @discardableResult
    func run(_ query: PostgresQuery) async throws -> Int {
        try await rows(query).count
    }

    /// The server's clock now (read after the row locks of the transaction were taken, so a wait for a lock never
    /// makes it stale), offered to the ledger's `DatabaseClock`.
    func now() async throws -> Date {
        let sentAt = ContinuousClock.now
        let rows = try await rows(PostgresQuery(unsafeSQL: "SELECT \(Self.nowSQL)"))
        let receivedAt = ContinuousClock.now
        guard let row = rows.first else { throw LedgerError.database(nil, detail: "no clock row", underlying: nil) }
        let server = try row.makeRandomAccess()[0].decode(Double.self)
        clock.observe(server: server, sentAt: sentAt, receivedAt: receivedAt)
        return Date(timeIntervalSince1970: server + shift)
    }

    /// `body` inside BEGIN … COMMIT; any error rolls back (and a connection that cannot roll back is closed, so the
    /// pool never hands out a connection left inside a transaction).
    nonisolated(nonsending) func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try await run("BEGIN")
        let value: T
        do {
            value = try await body()
        } catch {
            await rollback()
            throw error
        }
        do {
            try await run("COMMIT")
        } catch {
            // A failed COMMIT was rolled back by the server (or the connection is gone: the outcome is unknown to
            // the caller, who sees a database error; the epoch fences whatever comes next).
            await rollback()
            throw error
        }
        return value
    }

    func rollback() async {
        do {
            try await run("ROLLBACK")
        } catch {
            try? await connection.close()
        }
    }
}

extension PostgresQuery.StringInterpolation {
    /// The server's clock (seconds since 1970) in a statement, shifted by `shift` (0 except in tests).
    mutating func appendInterpolation(serverNow shift: Double) {
        appendLiteral("(\(PostgresSession.nowSQL) + ")
        appendInterpolation(shift)
        appendLiteral("::float8)")
    }
}
