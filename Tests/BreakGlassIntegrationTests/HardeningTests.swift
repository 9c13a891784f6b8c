import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The holes of issue 15 that live outside the pipeline's logic, reproduced against the real `breakglass run`,
/// the real broker, SQLite and Chromium (each failed on main 052ef4c).
@Suite("hardening: never twice, never lost (the worker process)", .serialized)
struct HardeningTests {
    typealias W = WorkerProcessTests
    static let enabled = TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && W.binary != nil
    static let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")

    /// Runs scripts/lib/amqp_poison.py (the deepest header nesting the negotiated frame_max allows); its output.
    static func publishPoison(_ amqpURL: String, signature: String? = nil, bodyFile: URL? = nil) throws -> String {
        var arguments = [W.repoRoot.appendingPathComponent("scripts/lib/amqp_poison.py").path, amqpURL]
        if let signature { arguments += ["--signature", signature] }
        if let bodyFile { arguments += ["--body-file", bodyFile.path] }
        return try TestEnvironment.run("/usr/bin/python3", arguments)
    }

    static func publish(_ connection: AMQPConnection, body: [UInt8], header: String, id: String) async throws {
        try await connection.publish(
            AMQPMessage(
                body: body, properties: .persistent(messageID: id, headers: ["x-breakglass-signature": .string(header)])
            ),
            exchange: "breakglass.requests", routingKey: "restoration.approved")
    }

    // MARK: - 15.1

    @Test(
        "headers nested as deep as frame_max allows never crash the worker: rejected, dead-lettered, service goes on",
        .enabled(if: enabled, .init(rawValue: TestEnvironment.skipHint)))
    func deepestHeaderNestingIsRejected() async throws {
        try await W.withWorld { sim, dir, signer, amqpURL, connection in
            let deadQueue = AMQPTopology.Configuration().deadLetterQueue
            _ = try await connection.purgeQueue(deadQueue)
            let worker = try W.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2)
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")

            // Unsigned, and signed-but-poisoned (a valid signature over another key's body).
            let unsigned = try Self.publishPoison(amqpURL)
            let (cleanBody, _) = W.signedRequest(signer: signer, requestID: "REQ-IT-POISON")
            let poisonBody = Array(
                String(decoding: cleanBody, as: UTF8.self).replacingOccurrences(of: "CASE-88121", with: "CASE-POISON")
                    .utf8)
            let bodyFile = dir.appendingPathComponent("poison-body.json")
            try Data(poisonBody).write(to: bodyFile)
            let signed = try Self.publishPoison(
                amqpURL, signature: signer.signature(for: poisonBody).value, bodyFile: bodyFile)
            #expect(unsigned.contains("depth=") && signed.contains("depth="))

            // A clean request after the poison is served by the same process.
            let (body, header) = W.signedRequest(signer: signer, requestID: "REQ-IT-AFTER-POISON")
            try await Self.publish(connection, body: body, header: header, id: "REQ-IT-AFTER-POISON")
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    (try? ledger.entry(for: Self.key))?.state == .granted
                }, "\(worker.logText.suffix(3000))")
            #expect(worker.process.isRunning, "the worker survived the poison")

            let poisonKey = RestorationKey(caseID: "CASE-POISON", tenantID: "tnt-4f9a2c")
            let poisoned = try #require(try ledger.entry(for: poisonKey))
            #expect(poisoned.state == .rejected)
            #expect(poisoned.reasons == [.schemaInvalid])
            let unknown = try ledger.events(for: RestorationKey(caseID: "unknown", tenantID: "unknown"))
            #expect(unknown.contains { String(decoding: $0.message.body, as: UTF8.self).contains("SIGNATURE_MISSING") })
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(10)) {
                    (try? await connection.queueStatus(deadQueue).messageCount) == 2
                }, "both poison messages dead-lettered")
        }
    }

    // MARK: - 15.2

    /// `breakglass ARGS` as a person runs it beside the workers of `withWorld` (same configuration and files).
    static func cli(
        _ arguments: [String], dir: URL, simURL: String, amqpURL: String, environment extra: [String: String]
    ) async throws
        -> (status: Int32, output: String)
    {
        let process = Process()
        guard let binary = W.binary else { throw TestEnvironmentError.missing("the breakglass binary") }
        process.executableURL = binary
        process.arguments = arguments + ["--config", W.repoRoot.appendingPathComponent("config/demo/worker.yaml").path]
        process.currentDirectoryURL = W.repoRoot
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("BREAKGLASS_") || $0.key.hasPrefix("BREAKGLASS_TEST_")
        }
        environment.merge([
            "BREAKGLASS_WORKER_ID": "person-cli",
            "BREAKGLASS_AMQP_URL": amqpURL,
            "BREAKGLASS_LEDGER_PATH": dir.appendingPathComponent("ledger.sqlite").path,
            "BREAKGLASS_EVIDENCE_DIR": dir.appendingPathComponent("evidence").path,
            "BREAKGLASS_SOURCES_BASE_URL": simURL,
            "BREAKGLASS_SOURCES_TOKEN_FILE": dir.appendingPathComponent("sources.token").path,
            "BREAKGLASS_CONSOLE_URL": simURL,
            "BREAKGLASS_CONSOLE_PASSWORD_FILE": dir.appendingPathComponent("console.password").path,
            "BREAKGLASS_WEBDRIVER_URL": TestEnvironment.webDriverURL ?? "http://127.0.0.1:9",
            "BREAKGLASS_OPS_PORT": "0",
        ]) { _, new in new }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let log = dir.appendingPathComponent("cli-\(UUID().uuidString.prefix(6)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let exited = ExitFlag()
        DispatchQueue.global().async {
            process.waitUntilExit()
            exited.set()
        }
        let finished = try await TestEnvironment.waitUntil(timeout: .seconds(120), poll: .milliseconds(100)) {
            exited.value
        }
        if !finished { kill(process.processIdentifier, SIGKILL) }
        try handle.close()
        return (finished ? process.terminationStatus : -1, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    @Test(
        "frozen after submitting, taken over and halted, resumed by a person, then thawed: one submit, one grant",
        .enabled(if: enabled, .init(rawValue: TestEnvironment.skipHint)))
    func frozenSubmitterThenResumeSubmitsOnce() async throws {
        try await W.withWorld { sim, dir, signer, amqpURL, connection in
            let keys = dir.appendingPathComponent("trusted-keys.json")
            // Short lease and IAM window so the takeover comes within the test: lease 3 s + confirmation bound
            // (the map's 20 s + 2 s + 5 s) after `submitting`.
            let settings = [
                "BREAKGLASS_CONSOLE_GRANT_VERIFY_WINDOW_SECONDS": "2", "BREAKGLASS_LEDGER_LEASE_SECONDS": "3",
            ]
            var frozenEnvironment = settings
            frozenEnvironment["BREAKGLASS_FREEZE_AT"] = "before-click"
            let frozen = try W.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL, trustedKeys: keys, drainSeconds: 2,
                leaseSeconds: 3, name: "frozen", extraEnvironment: frozenEnvironment)
            defer {
                kill(frozen.process.processIdentifier, SIGCONT)
                frozen.crash()
            }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { frozen.readyStatus() == 200 },
                "\(frozen.logText.suffix(2000))")
            let (body, header) = W.signedRequest(signer: signer, requestID: "REQ-IT-FROZEN")
            try await Self.publish(connection, body: body, header: header, id: "REQ-IT-FROZEN")
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
                    frozen.logText.contains("freeze point before-click reached")
                }, "\(frozen.logText.suffix(3000))")
            #expect(try ledger.entry(for: Self.key)?.state == .submitting)

            // Another worker gets the redelivery once the broker drops the frozen connection, waits out the lease
            // (extended over the confirmation bound at `submitting`), reconciles: no grant, an escalated halt.
            let other = try W.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL, trustedKeys: keys, drainSeconds: 2,
                leaseSeconds: 3, name: "other", extraEnvironment: settings)
            defer { _ = other.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(120)) {
                    let entry = try? ledger.entry(for: Self.key)
                    return entry?.state == .halted && entry?.escalate == true
                }, "\(other.logText.suffix(3000))")

            // The person follows the runbook: resume after reconciliation (waiting if the command says so).
            var resumed: (status: Int32, output: String) = (-1, "")
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90), poll: .seconds(1)) {
                    resumed = try await Self.cli(
                        [
                            "takeover", "resume", "CASE-88121/tnt-4f9a2c", "--by", "sec-lead-1", "--note",
                            "no grant listed",
                            "--after-reconciliation",
                        ], dir: dir, simURL: sim.baseURL, amqpURL: amqpURL, environment: settings)
                    return !resumed.output.contains("too-soon") && !resumed.output.contains("then run this again")
                }, "\(resumed.output.suffix(2000))")
            #expect(resumed.status == 0, "\(resumed.output.suffix(3000))")
            #expect(try ledger.entry(for: Self.key)?.state == .granted)

            // The frozen worker wakes up: its lease cannot cover a confirmation any more, so it must not click.
            kill(frozen.process.processIdentifier, SIGCONT)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(30)) {
                    frozen.logText.contains("claim fenced by a newer owner") || frozen.logText.contains("click refused")
                        || frozen.logText.contains("not clicked")
                }, "\(frozen.logText.suffix(3000))")
            let reference = "CASE-88121/tnt-4f9a2c"
            let submits = await sim.state.submitCounts().filter { $0.externalReference == reference }.map(\.count)
            #expect(
                submits == [1],
                """
                the console saw \(submits) submits for the key
                --- frozen worker (tail)
                \(frozen.logText.suffix(4000))
                --- other worker (tail)
                \(other.logText.suffix(2000))
                --- resume (tail)
                \(resumed.output.suffix(2000))
                """)
            #expect(await W.grantCount(sim.state, reference) == 1)
        }
    }

    // MARK: - 15.8

    @Test(
        "a worker that never reached the broker stops on SIGTERM (closed port, wrong password)",
        .enabled(if: enabled, .init(rawValue: TestEnvironment.skipHint)))
    func sigtermBeforeTheBrokerWasReached() async throws {
        try await W.withWorld { sim, dir, _, amqpURL, _ in
            let closedPort = Int.random(in: 40_000...49_000)
            let wrongPassword = amqpURL.replacingOccurrences(of: "guest:guest@", with: "guest:not-the-password@")
            for (name, url) in [
                ("closed-port", "amqp://guest:guest@127.0.0.1:\(closedPort)/"), ("wrong-password", wrongPassword),
            ] {
                let workerDir = dir.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: workerDir, withIntermediateDirectories: true)
                let worker = try W.WorkerProcess(
                    dir: workerDir, amqpURL: url, simURL: sim.baseURL,
                    trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2, name: name)
                // The ops server answers (not ready): the process is up and trying to connect.
                #expect(
                    try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 503 },
                    "\(worker.logText.suffix(2000))")
                kill(worker.process.processIdentifier, SIGTERM)
                // `waitUntilExit` on another thread (it reaps the child; `isRunning` alone lags on Linux).
                let exited = ExitFlag()
                let process = worker.process
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    exited.set()
                }
                let stopped = try await TestEnvironment.waitUntil(timeout: .seconds(30)) { exited.value }
                if !stopped { worker.crash() }
                #expect(stopped, "\(name): the worker ignored SIGTERM; \(worker.logText.suffix(2000))")
                if stopped {
                    #expect(process.terminationStatus == 0, "\(name): exit status \(process.terminationStatus)")
                }
            }
        }
    }

    // MARK: - 15.4

    @Test(
        "a full ledger disk: /readyz fails, the delivery is held (not dead-lettered) and carries on once there is room",
        .enabled(if: enabled && getuid() == 0, .init(rawValue: TestEnvironment.skipHint)))
    func fullLedgerDiskHoldsDeliveries() async throws {
        try await W.withWorld { sim, dir, signer, amqpURL, connection in
            let deadQueue = AMQPTopology.Configuration().deadLetterQueue
            _ = try await connection.purgeQueue(deadQueue)
            let mount = dir.appendingPathComponent("ledger-fs")
            try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
            try TestEnvironment.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mount.path])
            defer { _ = try? TestEnvironment.run("/bin/umount", ["-l", mount.path]) }
            let ledgerPath = mount.appendingPathComponent("ledger.sqlite").path
            let worker = try W.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2,
                ledgerPath: ledgerPath)
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")

            // Fill the filesystem to the last byte.
            let filler = mount.appendingPathComponent("filler")
            let fd = open(filler.path, O_CREAT | O_WRONLY, 0o600)
            let chunk = [UInt8](repeating: 0x55, count: 4096)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            var byte: UInt8 = 1
            while write(fd, &byte, 1) == 1 {}
            close(fd)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(20)) { worker.readyStatus() == 503 },
                "/readyz must fail on a full ledger disk")

            let (body, header) = W.signedRequest(signer: signer, requestID: "REQ-IT-DISKFULL")
            try await Self.publish(connection, body: body, header: header, id: "REQ-IT-DISKFULL")
            // Long enough for the old behaviour (requeue about once a second) to reach the delivery limit (10).
            try await Task.sleep(for: .seconds(15))
            #expect(
                try await connection.queueStatus(deadQueue).messageCount == 0,
                "nothing dead-lettered for the worker's own outage")

            try FileManager.default.removeItem(at: filler)
            let ledger = try SQLiteLedger(configuration: .init(path: ledgerPath))
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(120)) {
                    (try? ledger.entry(for: Self.key))?.state == .granted
                }, "\(worker.logText.suffix(3000))")
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { worker.readyStatus() == 200 })
            #expect(try await connection.queueStatus(deadQueue).messageCount == 0)
        }
    }
}

final class ExitFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    var value: Bool { lock.withLock { done } }
    func set() { lock.withLock { done = true } }
}

/// Issue 16.1: no other local user can reach the worker's chromedriver or any DevTools port of its browsers.
@Suite("security: browser isolation (the worker process)", .serialized)
struct BrowserIsolationTests {
    typealias W = WorkerProcessTests

    /// Every process below `pid` (children, grandchildren, ...).
    static func descendants(of pid: Int32) -> Set<Int32> {
        var result = Set<Int32>()
        var queue = [pid]
        while let next = queue.popLast() {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(next)/task")) ?? []
            for task in tasks {
                let text = (try? String(contentsOfFile: "/proc/\(next)/task/\(task)/children", encoding: .utf8)) ?? ""
                for child in text.split(separator: " ").compactMap({ Int32($0) }) where result.insert(child).inserted {
                    queue.append(child)
                }
            }
        }
        return result
    }

    /// TCP ports in LISTEN held by any of `pids` (from `ss -ltnpH`).
    static func listeningPorts(of pids: Set<Int32>) throws -> [Int: Int32] {
        let output = try TestEnvironment.run("/usr/bin/ss", ["-ltnpH"])
        var ports: [Int: Int32] = [:]
        for line in output.split(separator: "\n") {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 4, let port = columns[3].split(separator: ":").last.flatMap({ Int($0) }) else {
                continue
            }
            for match in line.matches(of: /pid=(\d+)/) {
                if let pid = Int32(match.1), pids.contains(pid) { ports[port] = pid }
            }
        }
        return ports
    }

    /// Whether user `nobody` can open a TCP connection to 127.0.0.1:`port` (curl exit 7 = refused/reset).
    static func nobodyReaches(port: Int, path: String = "/status") throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = [
            "-u", "nobody", "--", "/usr/bin/curl", "-s", "-m", "3", "-o", "/dev/null",
            "http://127.0.0.1:\(port)\(path)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test(
        "as another user: the worker's chromedriver port refuses, and its browsers listen on no DevTools port",
        .enabled(
            if: HardeningTests.enabled && getuid() == 0
                && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"),
            .init(rawValue: TestEnvironment.skipHint)))
    func anotherLocalUserCannotReachTheBrowser() async throws {
        try await W.withWorld { sim, dir, signer, amqpURL, connection in
            let worker = try W.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"), drainSeconds: 2)
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")
            let (body, header) = W.signedRequest(signer: signer, requestID: "REQ-IT-ISOLATION")
            try await HardeningTests.publish(connection, body: body, header: header, id: "REQ-IT-ISOLATION")
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    (try? ledger.entry(for: HardeningTests.key))?.state == .granted
                }, "\(worker.logText.suffix(3000))")
            #expect(
                worker.logText.contains("chromedriver's port closed to other local users"),
                "\(worker.logText.suffix(2000))")

            let family = Self.descendants(of: worker.process.processIdentifier)
            let ports = try Self.listeningPorts(of: family)
            let driverPorts = try ports.filter { port, pid in
                try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8).hasPrefix("chromedriver")
            }.map(\.key)
            #expect(driverPorts.count == 1, "the managed chromedriver listens: \(ports)")
            let browserPorts = try ports.filter { _, pid in
                try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8).hasPrefix("chrom")
                    && !(try String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8).hasPrefix("chromedriver"))
            }
            #expect(browserPorts.isEmpty, "a browser of the worker listens on a DevTools port: \(browserPorts)")
            for port in ports.keys {
                #expect(
                    try !Self.nobodyReaches(port: port), "user nobody reached port \(port) of the worker's process tree"
                )
                #expect(try !Self.nobodyReaches(port: port, path: "/sessions"))
            }
            // The worker itself can still drive it (it just granted), and root can.
            #expect(
                try TestEnvironment.run(
                    "/usr/bin/curl", ["-s", "-m", "3", "http://127.0.0.1:\(driverPorts.first ?? 0)/status"]
                ).contains("ready"))
        }
    }
}
