public import BreakGlassLedger
import BreakGlassLedgerPostgres
import Foundation
public import Logging

/// Which ledger `ledger.url` names, and opening it (issue 17): the one place a backend is chosen.
extension ConfigurationValues {
    /// Where the ledger lives.
    public enum LedgerLocation: Sendable, Equatable {
        /// An SQLite file shared by the worker processes of one host.
        case sqlite(path: String)
        /// A PostgreSQL database shared by the workers of every host (the URL carries no password).
        case postgres(url: String)
    }

    /// `ledger.url` read: unset → `ledger.path`; `sqlite:PATH`; `postgres://` or `postgresql://`.
    public func ledgerLocation() throws(ConfigurationError) -> LedgerLocation {
        guard let url = self[Config.ledgerURL] else { return .sqlite(path: self[Config.ledgerPath]) }
        if url.hasPrefix("sqlite:") {
            let path = String(url.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .missingValue(Config.ledgerURL.name, "sqlite: needs a file path") }
            return .sqlite(path: path)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") { return .postgres(url: url) }
        throw .missingValue(Config.ledgerURL.name, "must be sqlite:PATH or postgres://USER@HOST:PORT/DB")
    }

    /// The ledger named for people: the file path, or the PostgreSQL URL without a password.
    public var ledgerDescription: String {
        switch try? ledgerLocation() {
        case .sqlite(let path): path
        case .postgres(let url): url
        case nil: self[Config.ledgerURL] ?? self[Config.ledgerPath]
        }
    }

    /// The SQLite file when the ledger is SQLite (`nil` for PostgreSQL).
    public var sqliteLedgerPath: String? {
        if case .sqlite(let path) = try? ledgerLocation() { return path }
        return nil
    }

    /// The PostgreSQL ledger's settings: the URL, the password from `ledger.password_file`, the CA file, the lease.
    func postgresLedgerConfiguration(url: String) throws -> PostgresLedger.Configuration {
        let password = try secret(file: Config.ledgerPasswordFile)
        var configuration = try PostgresLedger.Configuration(url: url, password: password?.revealed)
        if let caFile = self[Config.ledgerCAFile], case .verifyFull = configuration.tls {
            configuration.tls = .verifyFull(caFile: caFile)
        }
        configuration.leaseDuration = .seconds(self[Config.leaseSeconds])
        configuration.maximumResumes = self[Config.maxResumes]
        configuration.operationTimeout = .seconds(self[Config.ledgerOperationTimeoutSeconds])
        return configuration
    }

    /// Opens the ledger `ledger.url` names (creating its schema when missing). Call `shutdown()` when done.
    public func openLedger(logger: Logger) async throws -> any Ledger {
        switch try ledgerLocation() {
        case .sqlite(let path):
            return try SQLiteLedger(configuration: ledgerConfiguration(path: path), logger: logger)
        case .postgres(let url):
            return try await PostgresLedger.open(configuration: postgresLedgerConfiguration(url: url), logger: logger)
        }
    }
}
