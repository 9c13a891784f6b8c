import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import Foundation
import Testing

/// The real `breakglass takeover resume|revoke` binary, configured like `breakglass run` (environment variables),
/// against the simulator, Chromium through the test chromedriver, the ledger file a pipeline wrote, and the test
/// broker for the outbox flush when one is there.
@Suite("breakglass takeover resume/revoke (the CLI process)", .serialized,
       .enabled(if: TestEnvironment.hasWebDriver && WorkerProcessTests.binary != nil, Comment(rawValue: TestEnvironment.skipHint)))
struct TakeoverCommandTests {
    struct Run {
        let status: Int32
        let output: String
    }

    static func breakglass(_ arguments: [String], dir: URL, sim: RunningSimulator, ledgerPath: String, evidence: URL) async throws -> Run {
        let tokenFile = dir.appendingPathComponent("sources.token")
        try ConsoleHarness.apiToken.write(to: tokenFile, atomically: true, encoding: .utf8)
        let passwordFile = dir.appendingPathComponent("console.password")
        try ConsoleHarness.consolePassword.write(to: passwordFile, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("cli-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        guard let binary = WorkerProcessTests.binary else { throw TestEnvironmentError.missing("the breakglass binary") }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = WorkerProcessTests.repoRoot
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("BREAKGLASS_") || $0.key.hasPrefix("BREAKGLASS_TEST_") }
        environment.merge([
            "BREAKGLASS_WORKER_ID": "cli-it",
            "BREAKGLASS_LEDGER_PATH": ledgerPath,
            "BREAKGLASS_EVIDENCE_DIR": evidence.path,
            "BREAKGLASS_SOURCES_BASE_URL": sim.baseURL,
            "BREAKGLASS_SOURCES_TOKEN_FILE": tokenFile.path,
            "BREAKGLASS_CONSOLE_URL": sim.baseURL,
            "BREAKGLASS_CONSOLE_PASSWORD_FILE": passwordFile.path,
            "BREAKGLASS_WEBDRIVER_URL": TestEnvironment.webDriverURL ?? "http://127.0.0.1:9",
            "BREAKGLASS_WEBDRIVER_CHROMIUM_PATH": TestEnvironment.chromiumBinary,
            "BREAKGLASS_AMQP_URL": TestEnvironment.amqpURL ?? "amqp://guest:guest@127.0.0.1:9/",
            "BREAKGLASS_AMQP_CONNECT_TIMEOUT_SECONDS": "3",
            "BREAKGLASS_LOG_LEVEL": "notice",
        ]) { _, new in new }
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let finished = try await TestEnvironment.waitUntil(timeout: .seconds(120), poll: .milliseconds(100)) { !process.isRunning }
        if !finished { process.terminate() }
        try handle.close()
        return Run(status: finished ? process.terminationStatus : -1, output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test("resume after a renewed approval grants once; revoke takes it back; the events reach the outbox (and the broker)")
    func resumeThenRevoke() async throws {
        try await TakeoverHarness.run { t in
            let dir = try TestEnvironment.scratchDirectory("takeover-cli")
            let evidence = dir.appendingPathComponent("evidence")
            let state = t.console.sim.state
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .renew)
            let ledgerPath = t.ledger.configuration.path

            // An escalated-only flag on a plain halt changes nothing; missing --by is a usage error.
            let usage = try await Self.breakglass(["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--note", "x"],
                                                  dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(usage.status != 0)
            #expect(try t.entry().state == .halted)

            let resumed = try await Self.breakglass(
                ["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--note", "APR-2 renewed"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(resumed.status == 0, "\(resumed.output.suffix(3000))")
            #expect(resumed.output.contains("granted: confirmation"))
            #expect(await t.grantCount() == 1)
            #expect(try t.entry().state == .granted)
            #expect(!resumed.output.contains(ConsoleHarness.consolePassword))
            #expect(!resumed.output.contains(ConsoleHarness.apiToken))

            let revoked = try await Self.breakglass(
                ["takeover", "revoke", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--reason", "incident over"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(revoked.status == 0, "\(revoked.output.suffix(3000))")
            #expect(try t.entry().revocation == .revoked)
            #expect(await t.console.grants(ConsoleHarness.request()).first?.status == "revoked")
            #expect(try t.eventTypes() == ["halted", "evidence-ready", "resumed", "outcome", "evidence-ready", "revoked"])
            if TestEnvironment.amqpURL != nil {
                // The command published its events itself (with publisher confirms) and marked them.
                #expect(revoked.output.contains("events: published"), "\(revoked.output.suffix(2000))")
                #expect(try t.ledger.pendingEvents().isEmpty)
            } else {
                #expect(revoked.output.contains("a worker's relay publishes them"))
            }

            // Refusals: a second revoke (exit 1), the report over the same files.
            let again = try await Self.breakglass(
                ["takeover", "revoke", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--reason", "again"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(again.status == 1)
            #expect(again.output.contains("refused (already-revoked)"))
            let report = try await Self.breakglass(["report", "--format", "json"],
                                                   dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(report.status == 0, "\(report.output.suffix(2000))")
            #expect(report.output.contains("\"revoked\" : [\n      \"CASE-88121/tnt-4f9a2c\"\n    ]"), "\(report.output)")
        }
    }

    @Test("a resume whose run fails after the resume committed exits 4, names `takeover recover`, and still flushes the outbox")
    func resumedButUnfinishedExit() async throws {
        try await TakeoverHarness.run { t in
            let dir = try TestEnvironment.scratchDirectory("takeover-cli-unfinished")
            let evidence = dir.appendingPathComponent("evidence")
            _ = await t.console.sim.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            #expect(await t.deliver().result == .halted)
            try t.failDecisionsAfterResume()
            let run = try await Self.breakglass(
                ["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--note", "retry"],
                dir: dir, sim: t.console.sim, ledgerPath: t.ledger.configuration.path, evidence: evidence)
            #expect(run.status == 4, "\(run.output.suffix(3000))")
            #expect(run.output.contains("failed (resumed-but-unfinished)"), "\(run.output.suffix(3000))")
            #expect(run.output.contains("breakglass takeover recover CASE-88121/tnt-4f9a2c"))
            #expect(!run.output.contains("refused ("))
            let entry = try t.entry()
            #expect(entry.state.isInFlight)
            #expect(run.output.contains("at epoch \(entry.epoch)"))
            #expect(entry.owner?.hasPrefix("takeover-cli-it-") == true)  // takeover-<worker id>-<pid>-<random>
            #expect(try t.eventTypes() == ["halted", "evidence-ready", "resumed"])
            if TestEnvironment.amqpURL != nil {
                #expect(run.output.contains("events: published"), "\(run.output.suffix(2000))")
                #expect(try t.ledger.pendingEvents().isEmpty)
            } else {
                #expect(run.output.contains("a worker's relay publishes them"))
            }
        }
    }
}

