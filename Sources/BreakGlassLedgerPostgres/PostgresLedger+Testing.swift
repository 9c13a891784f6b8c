import BreakGlassLedger
package import Foundation
import PostgresNIO

/// Hooks for this package's tests (never used by the worker).
extension PostgresLedger {
    /// Runs one SQL statement through the ledger's pool, bypassing the ledger's logic (the database's triggers must
    /// refuse what the state machine refuses); errors mapped like the ledger's own.
    package func executeForTesting(_ sql: String) async throws {
        _ = try await autocommit(nil) { session in try await session.run(PostgresQuery(unsafeSQL: sql)) }
    }

    /// The server's clock now (with the test shift), read by a statement.
    package func serverNowForTesting() async throws -> Date {
        try await autocommit(nil) { session in try await session.now() }
    }
}
