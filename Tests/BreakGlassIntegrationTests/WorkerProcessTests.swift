import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The assembled worker as ops run it: the real `breakglass run` binary against the real broker, the simulator
/// (live sources + console, in-process) and Chromium through a chromedriver the worker starts itself.
@Suite("breakglass run (the worker process)", .serialized)
struct WorkerProcessTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let apiToken = "worker-it-source-token-3f9"
    static let controlToken = "worker-it-control-token-7a1"

    static var binary: URL? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("breakglass")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    /// One worker process with its own ledger, evidence and ops port.
    final class WorkerProcess: @unchecked Sendable {
        let process = Process()
        let dir: URL
        let opsPort: Int
        let log: URL

        init(
            dir: URL, amqpURL: String, simURL: String, trustedKeys: URL, drainSeconds: Int, leaseSeconds: Int = 120,
            name: String = "worker", ledgerPath: String? = nil, extraEnvironment: [String: String] = [:]
        ) throws {
            self.dir = dir
            self.opsPort = Self.unusedPort()
            self.log = dir.appendingPathComponent("\(name).log")
            let tokenFile = dir.appendingPathComponent("sources.token")
            try WorkerProcessTests.apiToken.write(to: tokenFile, atomically: true, encoding: .utf8)
            let passwordFile = dir.appendingPathComponent("console.password")
            try "sample-console-password".write(to: passwordFile, atomically: true, encoding: .utf8)
            guard let binary = WorkerProcessTests.binary else {
                throw TestEnvironmentError.missing("the breakglass binary")
            }
            process.executableURL = binary
            process.arguments = [
                "run", "--config", WorkerProcessTests.repoRoot.appendingPathComponent("config/demo/worker.yaml").path,
            ]
            process.currentDirectoryURL = WorkerProcessTests.repoRoot
            var environment = ProcessInfo.processInfo.environment.filter {
                !$0.key.hasPrefix("BREAKGLASS_") || $0.key.hasPrefix("BREAKGLASS_TEST_")
            }
            environment.merge([
                "BREAKGLASS_WORKER_ID": "it-\(opsPort)",
                "BREAKGLASS_AMQP_URL": amqpURL,
                "BREAKGLASS_AMQP_HEARTBEAT_SECONDS": "2",
                "BREAKGLASS_WORKER_TRUSTED_KEYS_FILE": trustedKeys.path,
                "BREAKGLASS_WORKER_DRAIN_SECONDS": String(drainSeconds),
                "BREAKGLASS_LEDGER_LEASE_SECONDS": String(leaseSeconds),
                "BREAKGLASS_LEDGER_PATH": ledgerPath ?? dir.appendingPathComponent("ledger.sqlite").path,
                "BREAKGLASS_EVIDENCE_DIR": dir.appendingPathComponent("evidence").path,
                "BREAKGLASS_SOURCES_BASE_URL": simURL,
                "BREAKGLASS_SOURCES_TOKEN_FILE": tokenFile.path,
                "BREAKGLASS_CONSOLE_URL": simURL,
                "BREAKGLASS_CONSOLE_PASSWORD_FILE": passwordFile.path,
                "BREAKGLASS_OPS_PORT": String(opsPort),
            ]) { _, new in new }
            environment.merge(extraEnvironment) { _, new in new }
            process.environment = environment
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        /// `/readyz` status code, nil when the ops server does not answer.
        func readyStatus() -> Int? { get("/readyz")?.status }

        /// The ops server's `/metrics` text, nil when it does not answer 200.
        func metricsText() -> String? {
            guard let answer = get("/metrics"), answer.status == 200 else { return nil }
            return answer.body
        }

        /// One GET on the ops server: status and body, nil when it does not answer.
        func get(_ path: String, headers: [String: String] = [:]) -> (status: Int, body: String)? {
            getBytes(path, headers: headers).map { ($0.status, String(decoding: $0.body, as: UTF8.self)) }
        }

        /// A port below the kernel's ephemeral range (32768 and up here) that nothing listens on now. A CI run's
        /// worker failed to start because its random port (38320, inside that range) had meanwhile become the local
        /// port of some outgoing connection.
        static func unusedPort() -> Int {
            for _ in 0..<200 {
                let port = Int.random(in: 20_000...32_000)
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                guard fd >= 0 else { continue }
                defer { close(fd) }
                if withLoopback(port, { bind(fd, $0, $1) }) == 0 { return port }
            }
            return Int.random(in: 20_000...32_000)
        }

        /// Calls `body` (bind or connect) with 127.0.0.1:`port` as a `sockaddr`.
        static func withLoopback(
            _ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32
        ) -> Int32 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }

        /// One GET on the ops server: status and raw body bytes, nil when it does not answer.
        func getBytes(_ path: String, headers: [String: String] = [:]) -> (status: Int, body: [UInt8])? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard Self.withLoopback(opsPort, { connect(fd, $0, $1) }) == 0 else { return nil }
            let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
            let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n"
            _ = request.withCString { send(fd, $0, strlen($0), 0) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 16_384)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 16_384, 0) }
                guard n > 0 else { break }
                received += buffer[0..<n]
            }
            guard received.count > 12, let status = Int(String(decoding: received[9..<12], as: UTF8.self)) else {
                return nil
            }
            var bodyStart = received.count
            for index in 0..<max(0, received.count - 3)
            where received[index..<(index + 4)].elementsEqual([13, 10, 13, 10]) {
                bodyStart = index + 4
                break
            }
            return (status, Array(received[bodyStart...]))
        }

        func terminate() -> Int32 {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
            return process.terminationStatus
        }

        var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// kill -9, as a crash would; then its orphaned chromedriver (and browsers) are stopped too.
        func crash() {
            let pid = process.processIdentifier
            let children = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
            var orphans: [Int32] = []
            for task in children {
                let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
                orphans += text.split(separator: " ").compactMap { Int32($0) }
            }
            kill(pid, SIGKILL)
            process.waitUntilExit()
            for child in orphans { kill(child, SIGKILL) }
        }
    }

    /// Waits until the ledger says `submitting` and the console has made the grant (the click happened).
    static func submittedAndGranted(
        ledgerPath: String, key: RestorationKey, state: SimulatorState, reference: String
    ) async throws -> Bool {
        let ledger = try SQLiteLedger(configuration: .init(path: ledgerPath))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(60))
        while clock.now < deadline {
            let row = try? ledger.entry(for: key)
            if row?.state == .submitting, await grantCount(state, reference) == 1 { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    static func grantCount(_ state: SimulatorState, _ reference: String) async -> Int {
        await state.grantCounts().filter { $0.externalReference == reference }.map(\.count).reduce(0, +)
    }

    /// A signed request for the sample fixtures' clean case (CASE-88121 / tnt-4f9a2c).
    static func signedRequest(signer: RequestSigner, requestID: String) -> (body: [UInt8], header: String) {
        let now = Date()
        let body = """
            {"schema":"breakglass.restoration.approved/v1","request_id":"\(requestID)","case_id":"CASE-88121",\
            "tenant":{"id":"tnt-4f9a2c","name":"Acme Corp"},"incident":{"id":"INC-5521"},\
            "requester":{"admin_id":"adm-7781","identity_assurance_ref":"IDV-9912"},\
            "privilege":{"role":"tenant-admin","scopes":["admins.restore","users.reset-mfa"],"duration_minutes":120},\
            "approvals":[{"role":"incident-command","approval_id":"APR-1","approver_id":"u-ic-12"},\
            {"role":"security","approval_id":"APR-2","approver_id":"u-sec-3"},\
            {"role":"customer-account-authority","approval_id":"APR-3","approver_id":"c-ceo-1"}],\
            "packet":{"id":"PKT-77","sha256":"23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"},\
            "enqueued_at":"\(Timestamp.format(now))","not_after":"\(Timestamp.format(now.addingTimeInterval(1800)))"}
            """
        let bytes = Array(body.utf8)
        return (bytes, signer.signature(for: bytes).value)
    }

    /// Runs `body` with the simulator, a declared topology with a private request queue, and trusted keys.
    static func withWorld(
        _ body: (RunningSimulator, URL, RequestSigner, String, AMQPConnection) async throws -> Void
    ) async throws {
        let amqpURL = try #require(TestEnvironment.amqpURL)
        let fixtures = try SimulatorFixtures.load(
            contentsOf: repoRoot.appendingPathComponent("config/simulator.fixtures.yaml"))
        let simulator = try Simulator(
            configuration: .init(apiToken: apiToken, controlToken: controlToken), fixtures: fixtures)
        let dir = try TestEnvironment.scratchDirectory("worker-it")
        let (signer, _) = RequestSigner.generate(keyID: "escalation-it")
        let keys = dir.appendingPathComponent("trusted-keys.json")
        try TrustedKeys(raw: ["escalation-it": signer.publicKeyRaw]).jsonDocument().write(to: keys)
        var configuration = try AMQPConnection.Configuration(url: amqpURL)
        configuration.topology = AMQPTopology().declarations
        let connection = try AMQPConnection(configuration: configuration)
        connection.start()
        try await connection.waitUntilReady(timeout: .seconds(30))
        _ = try await connection.purgeQueue(AMQPTopology.Configuration().requestQueue)
        try await simulator.withRunning { sim in
            try await body(sim, dir, signer, amqpURL, connection)
        }
        await connection.close()
    }

    @Test(
        "SIGTERM during a console flow leaves a takeover record or a grant, never a half-state",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func sigtermDuringConsoleFlow() async throws {
        try await Self.withWorld { sim, dir, signer, amqpURL, connection in
            // Slow console pages so the flow is surely in progress when the signal arrives.
            await sim.state.setTenantFaults(FaultModes(pageDelayMs: 700), tenantID: "tnt-4f9a2c")
            let worker = try WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")
            let (body, header) = Self.signedRequest(signer: signer, requestID: "REQ-IT-SIGTERM")
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: "REQ-IT-SIGTERM", headers: ["x-breakglass-signature": .string(header)])),
                exchange: "breakglass.requests", routingKey: "restoration.approved")
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
            // In the console: past the gate, not decided.
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(30)) {
                    (try? ledger.entry(for: key))?.state == .gatePassed
                })
            let status = worker.terminate()
            #expect(status == 0, "exit status after SIGTERM")
            let entry = try #require(try ledger.entry(for: key))
            #expect(entry.state == .granted || entry.state == .halted, "state \(entry.state)")
            if entry.state == .halted {
                let takeovers = try ledger.takeovers(for: key)
                #expect(takeovers.count == 1)
            } else {
                #expect(entry.confirmationID != nil)
            }
            // The console agrees with the ledger: a grant exists exactly when the ledger says granted.
            let grants = await sim.state.grantCounts().filter { $0.externalReference == "CASE-88121/tnt-4f9a2c" }
            #expect(grants.map(\.count).reduce(0, +) == (entry.state == .granted ? 1 : 0))
            #expect(worker.logText.contains("consumer stopped"))
        }
    }

    @Test(
        "/readyz goes unready when the broker stops and ready again when it returns",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func readinessFollowsTheBroker() async throws {
        try await Self.withWorld { sim, dir, _, amqpURL, _ in
            let worker = try WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2)
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")
            try TestEnvironment.rabbitMQNode("stop")
            do {
                #expect(try await TestEnvironment.waitUntil(timeout: .seconds(30)) { worker.readyStatus() == 503 })
            } catch {
                _ = try? TestEnvironment.rabbitMQNode("start")
                throw error
            }
            try TestEnvironment.rabbitMQNode("start")
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 })
        }
    }

    @Test(
        "/metrics: HELP on every metric, counters at zero, ledger-wide figures from exactly one of two workers sharing a ledger",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func metricsAreExportedOncePerLedger() async throws {
        try await Self.withWorld { sim, dir, _, amqpURL, _ in
            let ledgerPath = dir.appendingPathComponent("shared.sqlite").path
            let workers = try ["one", "two"].map {
                try WorkerProcess(
                    dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                    trustedKeys: dir.appendingPathComponent("trusted-keys.json"),
                    drainSeconds: 2, name: $0, ledgerPath: ledgerPath)
            }
            defer { for worker in workers { _ = worker.terminate() } }
            for worker in workers {
                #expect(
                    try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                    "\(worker.logText.suffix(2000))")
            }
            for worker in workers {
                #expect(
                    try await TestEnvironment.waitUntil(timeout: .seconds(30)) {
                        worker.metricsText()?.contains("breakglass_ready 1.0\n") == true
                    },
                    "breakglass_ready never 1 while /readyz answers 200")
            }
            let ledgerWide = "breakglass_ledger_outbox_backlog "
            func exporters() -> [Int] {
                workers.indices.filter { workers[$0].metricsText()?.contains(ledgerWide) == true }
            }
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(60)) { exporters().count == 1 })
            #expect(exporters().count == 1, "ledger-wide figures exported by \(exporters()) (one expected)")
            let text = try #require(workers[0].metricsText())
            let typed = Set(
                text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
            let helped = Set(
                text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
            #expect(
                !typed.isEmpty && typed.isSubset(of: helped),
                "metrics without HELP: \(typed.subtracting(helped).sorted())")
            for line in [
                "breakglass_outcomes_total{result=\"granted\"} 0", "breakglass_escalated_halts_total 0",
                "breakglass_build_info{version=\"\(BuildInfo.version)\"} 1.0",
            ] {
                #expect(text.contains(line + "\n"), "missing at start-up: \(line)")
            }
            // The exporter stops: the other worker's relay takes the lease over, and with it the ledger-wide figures.
            let first = try #require(exporters().first)
            _ = workers[first].terminate()
            let other = 1 - first
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
                    workers[other].metricsText()?.contains(ledgerWide) == true
                },
                "the surviving worker never exported the ledger-wide figures")
        }
    }

    @Test(
        "kill -9 right after the click, then a restart: reconciled from the console, never resubmitted",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func crashAfterClickIsReconciled() async throws {
        try await Self.withWorld { sim, dir, signer, amqpURL, connection in
            // The console grants on submit, then never answers: the worker is stuck after its click.
            await sim.state.setTenantFaults(FaultModes(confirmationHang: true), tenantID: "tnt-4f9a2c")
            let keys = dir.appendingPathComponent("trusted-keys.json")
            let first = try WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL, trustedKeys: keys,
                drainSeconds: 2, leaseSeconds: 3, name: "first")
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { first.readyStatus() == 200 },
                "\(first.logText.suffix(2000))")
            let (body, header) = Self.signedRequest(signer: signer, requestID: "REQ-IT-CRASH")
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: "REQ-IT-CRASH", headers: ["x-breakglass-signature": .string(header)])),
                exchange: "breakglass.requests", routingKey: "restoration.approved")
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
            let reference = "CASE-88121/tnt-4f9a2c"
            let simState = sim.state
            let ledgerPath = dir.appendingPathComponent("ledger.sqlite").path
            let clicked = try await Self.submittedAndGranted(
                ledgerPath: ledgerPath, key: key, state: simState, reference: reference)
            #expect(clicked, "\(first.logText.suffix(3000))")
            first.crash()
            await sim.state.setTenantFaults(nil, tenantID: "tnt-4f9a2c")
            await sim.state.releaseHangingRequests()

            // A new worker on the same ledger gets the redelivered message, waits out the dead owner's lease,
            // and reconciles against the console's active grants.
            let second = try WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL, trustedKeys: keys,
                drainSeconds: 2, leaseSeconds: 3, name: "second")
            defer { _ = second.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    (try? ledger.entry(for: key))?.state == .granted
                }, "\(second.logText.suffix(3000))")
            let entry = try #require(try ledger.entry(for: key))
            #expect(entry.reconciled, "granted by reconciliation")
            #expect(entry.inDoubt)
            let finalCount = await Self.grantCount(simState, reference)
            #expect(finalCount == 1, "one grant")
            // The console received exactly one final submit for the key: the restart reconciled, never clicked again.
            let submits = await simState.submitCounts().filter { $0.externalReference == reference }.map(\.count)
            #expect(submits == [1], "never resubmitted")
        }
    }
}
