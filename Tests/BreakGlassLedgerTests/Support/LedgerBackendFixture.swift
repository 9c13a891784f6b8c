import BreakGlassCore
import BreakGlassLedger
import BreakGlassLedgerPostgres
import Foundation
import Testing

/// The ledger backends the conformance suite runs every test on (issue 17).
enum LedgerBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A fresh ledger of one backend per test: a new SQLite file, or a new database on the private PostgreSQL server
/// `scripts/test` starts (`BREAKGLASS_TEST_POSTGRES_URL`, password in `BREAKGLASS_TEST_POSTGRES_PASSWORD_FILE`).
///
/// Time: tests move a `ManualClock`. SQLite takes it as its clock; PostgreSQL keeps judging leases by the server's
/// `clock_timestamp()`, shifted by how far the test moved the clock (`PostgresLedger.Configuration.testClockShift`),
/// so lease expiry is tested without sleeping on both. Assertions about lease times use `ledger.clock()`.
struct LedgerBackendFixture {
    let backend: LedgerBackend
    /// The SQLite fixture's clock (the ledger's own), or one the PostgreSQL ledger's shift follows.
    let clock: ManualClock
    let start: Date
    private let files: LedgerFixture
    private let postgresURL: String?
    private let postgresPassword: String?
    /// The password's file (PostgreSQL), for child processes.
    let passwordFile: String?

    /// A scratch folder of the test's own (child processes run there).
    var directory: URL { files.directory }

    /// What a child process is given as `--ledger`: the file, or the database's URL.
    var location: String { postgresURL ?? files.path }

    /// nil when the backend is not available here (PostgreSQL not configured and not required).
    static func make(_ backend: LedgerBackend, _ name: String = "conformance") async throws -> LedgerBackendFixture? {
        switch backend {
        case .sqlite:
            return LedgerBackendFixture(
                backend: backend, files: try LedgerFixture(name), url: nil, password: nil, passwordFile: nil)
        case .postgres:
            let environment = ProcessInfo.processInfo.environment
            guard let server = environment["BREAKGLASS_TEST_POSTGRES_URL"] else {
                if environment["BREAKGLASS_TEST_REQUIRE_SERVICES"] == "1" {
                    Issue.record("BREAKGLASS_TEST_POSTGRES_URL is not set but services are required")
                }
                return nil
            }
            let password = try environment["BREAKGLASS_TEST_POSTGRES_PASSWORD_FILE"].map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let database =
                "bg_\(name.lowercased().filter { $0.isLetter || $0.isNumber })_\(UUID().uuidString.prefix(8).lowercased())"
            try PostgresAdmin(url: server, password: password).execute("CREATE DATABASE \(database)")
            let url = PostgresAdmin.replacingDatabase(in: server, with: database)
            return LedgerBackendFixture(
                backend: backend, files: try LedgerFixture(name), url: url, password: password,
                passwordFile: environment["BREAKGLASS_TEST_POSTGRES_PASSWORD_FILE"])
        }
    }

    private init(
        backend: LedgerBackend, files: LedgerFixture, url: String?, password: String?, passwordFile: String?
    ) {
        self.backend = backend
        self.files = files
        postgresURL = url
        postgresPassword = password
        self.passwordFile = passwordFile
        clock = files.clock
        start = clock.now
    }

    /// Another ledger on the same file or database: another connection set, as a second process (or host) would have.
    func open(lease: Duration = .seconds(60), maximumResumes: Int = 3) async throws -> any Ledger {
        let clock = self.clock
        switch backend {
        case .sqlite:
            return try files.open(lease: lease, maximumResumes: maximumResumes)
        case .postgres:
            var configuration = try PostgresLedger.Configuration(url: postgresURL!, password: postgresPassword)
            configuration.leaseDuration = lease
            configuration.maximumResumes = maximumResumes
            let start = self.start
            configuration.testClockShift = { clock.now.timeIntervalSince(start) }
            return try await PostgresLedger.open(configuration: configuration)
        }
    }

    /// Runs SQL straight against the store, bypassing the ledger (the database must refuse what the state machine
    /// refuses). Throws when the store refused it.
    func rawSQL(_ sql: String) throws {
        switch backend {
        case .sqlite:
            try PostgresAdmin.run(
                "/usr/bin/sqlite3", ["-bail", "-cmd", ".timeout 5000", files.path, sql], environment: [:])
        case .postgres:
            try PostgresAdmin(url: postgresURL!, password: postgresPassword).execute(sql)
        }
    }

    /// `--ledger LOCATION [--password-file FILE]` for a `breakglass-lab ledger-stress` drill.
    var drillArguments: [String] {
        ["--ledger", location] + (passwordFile.map { ["--password-file", $0] } ?? [])
    }

    func remove() {
        files.remove()
    }
}

/// psql (and sqlite3) from the tests, for set-up and for writes that bypass the ledger.
struct PostgresAdmin {
    let url: String
    let password: String?

    struct Failed: Error, CustomStringConvertible {
        let description: String
    }

    func execute(_ sql: String) throws {
        var environment: [String: String] = [:]
        if let password { environment["PGPASSWORD"] = password }
        try Self.run("/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], environment: environment)
    }

    static func replacingDatabase(in url: String, with database: String) -> String {
        var base = url
        var query = ""
        if let mark = base.firstIndex(of: "?") {
            query = String(base[mark...])
            base = String(base[..<mark])
        }
        guard let slash = base.lastIndex(of: "/"), base[..<slash].hasSuffix("/") == false else {
            return base + "/" + database + query
        }
        return String(base[...slash]) + database + query
    }

    static func run(_ tool: String, _ arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: String(decoding: output, as: UTF8.self))
        }
    }
}
