import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

/// The CLI as an on-call person meets it (issue 18.3): one way to configure every command, a documented exit status
/// for "not found" without the usage text, errors that name their cause, `--version`.
@Suite("breakglass CLI surface", .enabled(if: WorkerProcessTests.binary != nil, Comment(rawValue: TestEnvironment.skipHint)))
struct CLISurfaceTests {
    struct Run {
        let status: Int32
        let output: String
    }

    static func breakglass(_ arguments: [String], environment extra: [String: String] = [:], in dir: URL? = nil) async throws -> Run {
        let process = Process()
        guard let binary = WorkerProcessTests.binary else { throw TestEnvironmentError.missing("the breakglass binary") }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = dir ?? FileManager.default.temporaryDirectory
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BREAKGLASS_") && $0.key != "AMQP_URL" && $0.key != "LEDGER_PATH" }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    static func scratch() throws -> URL {
        let base = TestEnvironment.environment["BREAKGLASS_TEST_TMP"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let dir = base.appendingPathComponent("bg-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("--version prints the build's version")
    func version() async throws {
        let run = try await Self.breakglass(["--version"])
        #expect(run.status == 0)
        #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == BuildInfo.version)
    }

    @Test("a missing ledger or takeover exits 66 with one Error line naming it, never the usage text")
    func notFound() async throws {
        let dir = try Self.scratch()
        let missing = dir.appendingPathComponent("nope.sqlite").path
        let run = try await Self.breakglass(["takeover", "show", "CASE-1/tnt-1", "--ledger", missing])
        #expect(run.status == 66, "\(run.output)")
        #expect(run.output.contains("Error: no ledger at \(missing)"))
        #expect(!run.output.contains("USAGE"))
        let ledgerPath = dir.appendingPathComponent("ledger.sqlite").path
        _ = try Ledger(configuration: .init(path: ledgerPath))
        let noTakeover = try await Self.breakglass(["takeover", "show", "CASE-1/tnt-1", "--ledger", ledgerPath])
        #expect(noTakeover.status == 66, "\(noTakeover.output)")
        #expect(noTakeover.output.contains("no takeover for CASE-1/tnt-1") && !noTakeover.output.contains("USAGE"))
    }

    @Test("ledger and takeover commands find the worker's ledger by --config, BREAKGLASS_LEDGER_PATH, then LEDGER_PATH")
    func ledgerLocation() async throws {
        let dir = try Self.scratch()
        let ledgerPath = dir.appendingPathComponent("worker-ledger.sqlite").path
        _ = try Ledger(configuration: .init(path: ledgerPath))
        let config = dir.appendingPathComponent("worker.yaml")
        try "ledger:\n  path: \(ledgerPath)\n".write(to: config, atomically: true, encoding: .utf8)
        for (arguments, environment) in [
            (["ledger", "stats", "--config", config.path], [String: String]()),
            (["ledger", "stats"], ["BREAKGLASS_LEDGER_PATH": ledgerPath]),
            (["takeover", "list", "--json"], ["LEDGER_PATH": ledgerPath]),
        ] {
            let run = try await Self.breakglass(arguments, environment: environment, in: dir)
            #expect(run.status == 0, "\(arguments) \(environment): \(run.output)")
        }
        // Without any of them: run/ledger.sqlite of the working folder, which does not exist here.
        let none = try await Self.breakglass(["ledger", "stats"], in: dir)
        #expect(none.status == 66 && none.output.contains("run/ledger.sqlite"), "\(none.output)")
    }

    @Test("topology declare reads the broker like the worker (and $AMQP_URL), and a refused connection names host:port")
    func brokerErrorNamesItsCause() async throws {
        let port = try AMQPConnectErrorTests.closedPort()
        for (arguments, environment) in [
            (["topology", "declare", "--timeout", "3"], ["AMQP_URL": "amqp://guest:guest@127.0.0.1:\(port)/"]),
            (["topology", "declare", "--timeout", "3"], ["BREAKGLASS_AMQP_URL": "amqp://guest@127.0.0.1:\(port)/"]),
        ] {
            let run = try await Self.breakglass(arguments, environment: environment)
            #expect(run.status == 1, "\(run.output)")
            #expect(run.output.contains("Error: topology declare failed: AMQP connection-refused: nothing listens on 127.0.0.1:\(port)"),
                    "\(run.output)")
        }
    }
}
