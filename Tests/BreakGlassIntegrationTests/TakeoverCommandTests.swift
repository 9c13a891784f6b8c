import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import Foundation
import BreakGlassWorker
import Testing

/// The real `breakglass takeover resume|revoke` binary, configured like `breakglass run` (environment variables),
/// against the simulator, Chromium through the test chromedriver, the ledger file a pipeline wrote, and the test
/// broker for the outbox flush when one is there.
@Suite(
    "breakglass takeover resume/revoke (the CLI process)", .serialized,
    .enabled(
        if: TestEnvironment.hasWebDriver && WorkerProcessTests.binary != nil,
        Comment(rawValue: TestEnvironment.skipHint)))
struct TakeoverCommandTests {
    struct Run {
        let status: Int32
        let output: String
    }

    static func breakglass(
        _ arguments: [String], dir: URL, sim: RunningSimulator, ledgerPath: String, evidence: URL
    ) async throws -> Run {
        let tokenFile = dir.appendingPathComponent("sources.token")
        try ConsoleHarness.apiToken.write(to: tokenFile, atomically: true, encoding: .utf8)
        let passwordFile = dir.appendingPathComponent("console.password")
        try ConsoleHarness.consolePassword.write(to: passwordFile, atomically: true, encoding: .utf8)
        let log = dir.appendingPathComponent("cli-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        guard let binary = WorkerProcessTests.binary else {
            throw TestEnvironmentError.missing("the breakglass binary")
        }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = WorkerProcessTests.repoRoot
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("BREAKGLASS_") || $0.key.hasPrefix("BREAKGLASS_TEST_")
        }
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
        let finished = try await TestEnvironment.waitUntil(timeout: .seconds(120), poll: .milliseconds(100)) {
            !process.isRunning
        }
        if !finished { process.terminate() }
        try handle.close()
        return Run(
            status: finished ? process.terminationStatus : -1,
            output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test(
        "resume after a renewed approval grants once; revoke takes it back; the events reach the outbox (and the broker)"
    )
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
            let usage = try await Self.breakglass(
                ["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--note", "x"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(usage.status != 0)
            #expect(try t.entry().state == .halted)

            let resumed = try await Self.breakglass(
                ["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--note", "APR-2 renewed"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(resumed.status == (TestEnvironment.amqpURL != nil ? 0 : 5), "\(resumed.output.suffix(3000))")
            #expect(resumed.output.contains("granted: confirmation"))
            #expect(await t.grantCount() == 1)
            #expect(try t.entry().state == .granted)
            #expect(!resumed.output.contains(ConsoleHarness.consolePassword))
            #expect(!resumed.output.contains(ConsoleHarness.apiToken))

            let revoked = try await Self.breakglass(
                ["takeover", "revoke", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--reason", "incident over"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(revoked.status == (TestEnvironment.amqpURL != nil ? 0 : 5), "\(revoked.output.suffix(3000))")
            #expect(try t.entry().revocation == .revoked)
            #expect(await t.console.grants(ConsoleHarness.request()).first?.status == "revoked")
            #expect(
                try t.eventTypes() == ["halted", "evidence-ready", "resumed", "outcome", "evidence-ready", "revoked"])
            if TestEnvironment.amqpURL != nil {
                // The command published its events itself (with publisher confirms) and marked them.
                #expect(revoked.output.contains("events: published"), "\(revoked.output.suffix(2000))")
                #expect(try t.ledger.pendingEvents().isEmpty)
            } else {
                #expect(revoked.output.contains("events: NOT published"))
            }

            // Refusals: a second revoke (exit 1), the report over the same files.
            let again = try await Self.breakglass(
                ["takeover", "revoke", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--reason", "again"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(again.status == 1)
            #expect(again.output.contains("refused (already-revoked)"))
            // Issue 16.3: no trusted key, no report (no fallback to keys embedded in the seals).
            let unkeyed = try await Self.breakglass(
                ["report", "--format", "json"],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(unkeyed.status != 0)
            #expect(
                unkeyed.output.contains("a trusted evidence public key is required"), "\(unkeyed.output.suffix(1000))")
            let report = try await Self.breakglass(
                ["report", "--format", "json", "--public-key", dir.appendingPathComponent("evidence-key.pub").path],
                dir: dir, sim: t.console.sim, ledgerPath: ledgerPath, evidence: evidence)
            #expect(report.status == 0, "\(report.output.suffix(2000))")
            #expect(
                report.output.contains("\"revoked\" : [\n      \"CASE-88121/tnt-4f9a2c\"\n    ]"), "\(report.output)")
        }
    }

    @Test(
        "a resume whose run fails after the resume committed exits 4, names `takeover recover`, and still flushes the outbox"
    )
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
                #expect(run.output.contains("events: NOT published"))
            }
        }
    }

    /// A queue bound to every event type; the routing keys it holds, in order (waits for `count`).
    static func receive(_ connection: AMQPConnection, queue: String, count: Int) async throws -> [String] {
        let consumer = try await connection.consume(queue: queue, prefetch: 50)
        var received: [String] = []
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                consumer.cancel()
            }
            for try await delivery in consumer {
                received.append(delivery.routingKey.replacingOccurrences(of: "breakglass.restoration.", with: ""))
                try delivery.ack()
                if received.count >= count { break }
            }
            group.cancelAll()
        }
        consumer.cancel()
        return received
    }

    @Test(
        "issue 22: a person's resume publishes resumed, outcome, evidence-ready before it exits: no worker, a lease left behind, a live relay holding the lease",
        .enabled(if: TestEnvironment.hasRabbitMQ, .init(rawValue: TestEnvironment.skipHint)))
    func takeoverPublishesItsOwnEventsAtOnce() async throws {
        let url = try #require(TestEnvironment.amqpURL)
        var configuration = try AMQPConnection.Configuration(url: url)
        let queue = "test.takeover-events.\(UUID().uuidString.prefix(8))"
        configuration.topology =
            AMQPTopology().declarations + [
                .queue(name: queue),
                .binding(queue: queue, exchange: "breakglass.events", routingKey: "breakglass.restoration.#"),
            ]
        let connection = try AMQPConnection(configuration: configuration)
        connection.start()
        try await connection.waitUntilReady(timeout: .seconds(30))
        defer {
            Task {
                try? await connection.deleteQueue(queue)
                await connection.close()
            }
        }

        for situation in ["no worker", "a stopped worker's lease", "a live relay holds the lease"] {
            try await TakeoverHarness.run { t in
                let dir = try TestEnvironment.scratchDirectory("takeover-events")
                let state = t.console.sim.state
                _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
                #expect(await t.deliver().result == .halted)
                _ = await state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .renew)
                // The halt's own events go out first (as a worker's relay would have), so the queue then holds
                // exactly what the command publishes.
                let publisher = AMQPEventPublisher(connection: connection, exchange: "breakglass.events")
                let first = OutboxRelay(
                    ledger: t.ledger, publisher: publisher, configuration: .init(owner: "w-earlier"))
                #expect(await first.flush(deadline: .seconds(15)))
                #expect(try await Self.receive(connection, queue: queue, count: 2) == ["halted", "evidence-ready"])

                var live: Task<Void, any Error>?
                switch situation {
                case "a stopped worker's lease":
                    // A worker that stopped gracefully: its relay ran, then its shutdown flush. No lease must remain.
                    let stopped = OutboxRelay(
                        ledger: t.ledger, publisher: publisher, configuration: .init(owner: "w-stopped"))
                    #expect(await stopped.flush(deadline: .seconds(5)))
                    #expect(
                        try await t.ledger.acquireRelayLease(owner: "probe", duration: .seconds(1)),
                        "the stopped worker left its relay lease")
                    try await t.ledger.releaseRelayLease(owner: "probe")
                case "a live relay holds the lease":
                    var relayConfiguration = OutboxRelay.Configuration(owner: "w-live")
                    relayConfiguration.pollInterval = .seconds(2)
                    let relay = OutboxRelay(ledger: t.ledger, publisher: publisher, configuration: relayConfiguration)
                    live = Task { try await relay.run() }
                    #expect(
                        try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
                            try t.sqlite("SELECT owner FROM relay_lease").contains("w-live")
                        })
                default:
                    break
                }
                let run = try await Self.breakglass(
                    ["takeover", "resume", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--note", "APR-2 renewed"],
                    dir: dir, sim: t.console.sim, ledgerPath: t.ledger.configuration.path,
                    evidence: dir.appendingPathComponent("evidence"))
                live?.cancel()
                #expect(run.status == 0, "\(situation): \(run.output.suffix(3000))")
                #expect(run.output.contains("events: published"), "\(situation): \(run.output.suffix(2000))")
                // Already on the queue when the command has exited (no wait for another process's relay).
                let status = try await connection.queueStatus(queue)
                #expect(status.messageCount >= 3, "\(situation): \(status.messageCount) events on the queue at exit")
                #expect(
                    try await Self.receive(connection, queue: queue, count: 3) == [
                        "resumed", "outcome", "evidence-ready",
                    ], "\(situation)")
            }
        }
    }
}
