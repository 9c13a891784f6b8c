import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Testing

/// The CLI as an on-call person meets it (issue 18.3): one way to configure every command, a documented exit status
/// for "not found" without the usage text, errors that name their cause, `--version`.
@Suite(
    "breakglass CLI surface",
    .enabled(if: WorkerProcessTests.binary != nil, Comment(rawValue: TestEnvironment.skipHint)))
struct CLISurfaceTests {
    struct Run {
        let status: Int32
        let output: String
    }

    static func breakglass(
        _ arguments: [String], environment extra: [String: String] = [:], in dir: URL? = nil
    ) async throws -> Run {
        let process = Process()
        guard let binary = WorkerProcessTests.binary else {
            throw TestEnvironmentError.missing("the breakglass binary")
        }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = dir ?? FileManager.default.temporaryDirectory
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("BREAKGLASS_") && $0.key != "AMQP_URL" && $0.key != "LEDGER_PATH"
        }
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
        let base =
            TestEnvironment.environment["BREAKGLASS_TEST_TMP"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
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
        _ = try SQLiteLedger(configuration: .init(path: ledgerPath))
        let noTakeover = try await Self.breakglass(["takeover", "show", "CASE-1/tnt-1", "--ledger", ledgerPath])
        #expect(noTakeover.status == 66, "\(noTakeover.output)")
        #expect(noTakeover.output.contains("no takeover for CASE-1/tnt-1") && !noTakeover.output.contains("USAGE"))
    }

    @Test("ledger and takeover commands find the worker's ledger by --config, BREAKGLASS_LEDGER_PATH, then LEDGER_PATH")
    func ledgerLocation() async throws {
        let dir = try Self.scratch()
        let ledgerPath = dir.appendingPathComponent("worker-ledger.sqlite").path
        _ = try SQLiteLedger(configuration: .init(path: ledgerPath))
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

    @Test("a worker that cannot start says which key, path or port and why, with a configuration exit status")
    func startupErrorsNameTheirCause() async throws {
        let dir = try Self.scratch()
        let keys = dir.appendingPathComponent("trusted-keys.json")
        try TrustedKeys(raw: ["k": RequestSigner.generate(keyID: "k").signer.publicKeyRaw]).jsonDocument().write(
            to: keys)
        let token = dir.appendingPathComponent("sources.token")
        try "a-source-token-for-tests-123".write(to: token, atomically: true, encoding: .utf8)
        let password = dir.appendingPathComponent("console.password")
        try "sample-console-password".write(to: password, atomically: true, encoding: .utf8)
        let base = [
            "BREAKGLASS_WORKER_TRUSTED_KEYS_FILE": keys.path,
            "BREAKGLASS_LEDGER_PATH": dir.appendingPathComponent("ledger.sqlite").path,
            "BREAKGLASS_EVIDENCE_DIR": dir.appendingPathComponent("evidence").path,
            "BREAKGLASS_SOURCES_TOKEN_FILE": token.path,
            "BREAKGLASS_SOURCES_BASE_URL": "http://127.0.0.1:9", "BREAKGLASS_CONSOLE_URL": "http://127.0.0.1:9",
            "BREAKGLASS_CONSOLE_PASSWORD_FILE": password.path, "BREAKGLASS_AMQP_URL": "amqp://guest:guest@127.0.0.1:9/",
            "BREAKGLASS_WEBDRIVER_URL": "http://127.0.0.1:9", "BREAKGLASS_OPS_PORT": "0",
        ]
        let config = WorkerProcessTests.repoRoot.appendingPathComponent("config/demo/worker.yaml").path
        let cases: [(String, [String: String], Int32, [String])] = [
            (
                "a missing secret file",
                ["BREAKGLASS_CONSOLE_PASSWORD_FILE": dir.appendingPathComponent("nope.password").path], 78,
                ["console.password_file", "nope.password", "no such file"]
            ),
            (
                "a missing console map", ["BREAKGLASS_CONSOLE_MAP_FILE": dir.appendingPathComponent("nope.yaml").path],
                78,
                ["console.map_file", "nope.yaml", "unreadable"]
            ),
            (
                "a ledger that cannot be opened", ["BREAKGLASS_LEDGER_PATH": "/proc/breakglass/ledger.sqlite"], 1,
                ["/proc/breakglass/ledger.sqlite", "ledger.path", "open-failed"]
            ),
        ]
        for (what, change, status, fragments) in cases {
            let run = try await Self.breakglass(
                ["run", "--config", config], environment: base.merging(change) { _, new in new },
                in: WorkerProcessTests.repoRoot)
            let last = run.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(run.status == status, "\(what): exit \(run.status)\n\(run.output.suffix(800))")
            #expect(last.hasPrefix("Error: ") && fragments.allSatisfy { last.contains($0) }, "\(what): \(last)")
            #expect(!run.output.contains("USAGE") && !run.output.contains("sample-console-password"), "\(what)")
        }
        let unknown = try await Self.breakglass(
            ["run", "--config", config, "--set", "console.no_such_key=1"], environment: base,
            in: WorkerProcessTests.repoRoot)
        #expect(
            unknown.status == 78 && unknown.output.contains("console.no_such_key") && !unknown.output.contains("USAGE"),
            "\(unknown.output.suffix(600))")
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
            #expect(
                run.output.contains(
                    "Error: topology declare failed: AMQP connection-refused: nothing listens on 127.0.0.1:\(port)"),
                "\(run.output)")
        }
    }
}
