import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import Foundation

/// Hidden benchmark behind `./scripts/bench ledger`: durable claim+decide cycles per second (one process and
/// several processes on one file), and lookups of already-decided keys per second. Writes a JSON report.
struct BenchLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ledger",
        abstract: "Ledger benchmark (used by scripts/bench).",

        subcommands: [Run.self, Worker.self],
        defaultSubcommand: Run.self
    )

    /// One claim+decide cycle: claim a fresh key, then decide it (halted at the gate, with its takeover record
    /// and one outbox event) in a second transaction. Both are durable (synchronous = FULL) when they return.
    static func cycle(_ ledger: any Ledger, index: Int, prefix: String) async throws {
        let key = RestorationKey(caseID: "BENCH-\(prefix)-\(index)", tenantID: "tnt-bench")
        guard let claim = try await ledger.claim(key, requestID: "REQ-\(index)", owner: prefix).claim else {
            throw ValidationError("bench key \(key) was not claimable")
        }
        try await ledger.decide(
            claim, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)),
            events: [
                OutboxMessage(
                    eventID: "bench-\(prefix)-\(index)", routingKey: "breakglass.restoration.halted",
                    body: Data(repeating: 0x20, count: 400), key: key)
            ])
    }

    /// A full worker path: claim, gate-passed, submitting, granted with two events (4 durable writes).
    static func fullCycle(_ ledger: any Ledger, index: Int, prefix: String) async throws {
        let key = RestorationKey(caseID: "BENCHFULL-\(prefix)-\(index)", tenantID: "tnt-bench")
        guard var claim = try await ledger.claim(key, requestID: "REQ-\(index)", owner: prefix).claim else {
            throw ValidationError("bench key \(key) was not claimable")
        }
        claim = try await ledger.passGate(claim, approvalRefs: ["APR-1", "APR-2", "APR-3"], checkedAt: Date())
        claim = try await ledger.beginSubmitting(claim, recheckedAt: Date())
        try await ledger.decide(
            claim, .granted(confirmationID: "CONF-\(index)", expiresAt: Date().addingTimeInterval(7200)),
            events: [
                OutboxMessage(
                    eventID: "bf-o-\(prefix)-\(index)", routingKey: "breakglass.restoration.outcome",
                    body: Data(repeating: 0x20, count: 400), key: key),
                OutboxMessage(
                    eventID: "bf-e-\(prefix)-\(index)", routingKey: "breakglass.restoration.evidence-ready",
                    body: Data(repeating: 0x20, count: 300), key: key),
            ])
    }

    /// Runs `count` operations with `concurrency` in flight (like a worker's prefetch); returns seconds.
    static func measure(
        count: Int, concurrency: Int, _ operation: @escaping @Sendable (Int) async throws -> Void
    ) async throws -> Double {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let lanes = max(1, min(concurrency, count))
            for lane in 0..<lanes {
                group.addTask {
                    for index in stride(from: lane, to: count, by: lanes) { try await operation(index) }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run")

        @Option(name: .long, help: "Scratch directory for the ledger files.") var dir: String
        @Option(name: .long, help: "Claim+decide cycles per measurement (per process).") var cycles: Int = 6000
        @Option(name: .long, help: "Cycles in flight per process (group commit), like a worker's prefetch.")
        var concurrency: Int = 64
        @Option(name: .long, help: "Processes for the multi-process measurement.") var processes: Int = 4
        @Option(name: .long, help: "Decided-key lookups.") var lookups: Int = 1_000_000
        @Option(name: .long, help: "Write the JSON report here.") var output: String?

        func run() async throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            func fresh(_ name: String) throws -> String {
                let path = (dir as NSString).appendingPathComponent(name)
                for suffix in ["", "-wal", "-shm", ".open-lock"] {
                    try? FileManager.default.removeItem(atPath: path + suffix)
                }
                return path
            }

            // 1. One process, sequential (one cycle at a time: two fsyncs per cycle).
            let sequentialLedger = try SQLiteLedger(configuration: .init(path: try fresh("sequential.sqlite")))
            let durability = try sequentialLedger.durability()
            guard durability.synchronous == 2 else { throw ValidationError("ledger is not synchronous=FULL") }
            let sequentialCycles = max(500, cycles / 4)
            let sequentialSeconds = try await BenchLedgerCommand.measure(count: sequentialCycles, concurrency: 1) {
                index in
                try await BenchLedgerCommand.cycle(sequentialLedger, index: index, prefix: "seq")
            }

            // 2. One process, `concurrency` in flight: group commit.
            let singleLedger = try SQLiteLedger(configuration: .init(path: try fresh("single.sqlite")))
            let singleSeconds = try await BenchLedgerCommand.measure(count: cycles, concurrency: concurrency) { index in
                try await BenchLedgerCommand.cycle(singleLedger, index: index, prefix: "one")
            }
            let fullCycles = max(500, cycles / 2)
            let fullSeconds = try await BenchLedgerCommand.measure(count: fullCycles, concurrency: concurrency) {
                index in
                try await BenchLedgerCommand.fullCycle(singleLedger, index: index, prefix: "one")
            }

            // 3. `processes` processes on one file, started together.
            let multiPath = try fresh("multi.sqlite")
            _ = try SQLiteLedger(configuration: .init(path: multiPath))
            let startFile = (dir as NSString).appendingPathComponent("go")
            try? FileManager.default.removeItem(atPath: startFile)
            let binary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            var children: [(Process, URL)] = []
            for index in 0..<processes {
                let process = Process()
                process.executableURL = binary
                process.arguments = [
                    "bench-ledger", "worker", "--ledger", multiPath, "--cycles", "\(cycles)",
                    "--concurrency", "\(concurrency)", "--prefix", "p\(index)", "--start-file", startFile,
                ]
                let out = URL(fileURLWithPath: dir).appendingPathComponent("worker-\(index).json")
                _ = FileManager.default.createFile(atPath: out.path, contents: nil)
                process.standardOutput = try FileHandle(forWritingTo: out)
                try process.run()
                children.append((process, out))
            }
            try await Task.sleep(for: .milliseconds(300))  // let every child open the ledger first
            let multiStart = ContinuousClock.now
            _ = FileManager.default.createFile(atPath: startFile, contents: nil)
            var perProcess: [Double] = []
            for (process, out) in children {
                process.waitUntilExit()
                guard process.terminationStatus == 0 else { throw ValidationError("a bench worker failed") }
                let data = try Data(contentsOf: out)
                let report = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                perProcess.append(report?["cycles_per_s"] as? Double ?? 0)
            }
            let multiElapsed = ContinuousClock.now - multiStart
            let multiSeconds =
                Double(multiElapsed.components.seconds) + Double(multiElapsed.components.attoseconds) / 1e18
            let multiTotal = Double(cycles * processes) / multiSeconds

            // 4. Lookups of decided keys: from memory (what every redelivery hits) and from the file.
            let decidedKeys = (0..<cycles).map { RestorationKey(caseID: "BENCH-one-\($0)", tenantID: "tnt-bench") }
            let cachedLedger = try SQLiteLedger(
                configuration: .init(path: (dir as NSString).appendingPathComponent("single.sqlite")))
            for key in decidedKeys.prefix(1000) { _ = try cachedLedger.decision(for: key) }
            var hits = 0
            let cachedStart = ContinuousClock.now
            for index in 0..<lookups where try cachedLedger.decision(for: decidedKeys[index % 1000]) != nil {
                hits += 1
            }
            let cachedElapsed = ContinuousClock.now - cachedStart
            // Halted is not final, so `BENCH-one-*` are answered from the file each time: use granted keys too.
            var uncachedConfiguration = SQLiteLedger.Configuration(
                path: (dir as NSString).appendingPathComponent("single.sqlite"))
            uncachedConfiguration.decisionCacheLimit = 0
            let uncachedLedger = try SQLiteLedger(configuration: uncachedConfiguration)
            let uncachedCount = max(10_000, lookups / 10)
            let uncachedStart = ContinuousClock.now
            for index in 0..<uncachedCount
            where try uncachedLedger.decision(for: decidedKeys[index % decidedKeys.count]) != nil {
                hits += 1
            }
            let uncachedElapsed = ContinuousClock.now - uncachedStart
            guard hits == lookups + uncachedCount else { throw ValidationError("a decided key was not found") }
            func seconds(_ duration: Duration) -> Double {
                Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
            }
            // The cached path only serves final decisions (granted/rejected/resolved); use granted keys for it.
            let grantedKeys = (0..<fullCycles).map {
                RestorationKey(caseID: "BENCHFULL-one-\($0)", tenantID: "tnt-bench")
            }
            for key in grantedKeys { _ = try cachedLedger.decision(for: key) }
            let finalStart = ContinuousClock.now
            var finalHits = 0
            for index in 0..<lookups where try cachedLedger.decision(for: grantedKeys[index % grantedKeys.count]) != nil
            {
                finalHits += 1
            }
            let finalElapsed = ContinuousClock.now - finalStart
            guard finalHits == lookups else { throw ValidationError("a granted key was not found") }

            let rates: [String: Double] = [
                "claim_decide_per_s": Double(cycles) / singleSeconds,
                "claim_decide_sequential_per_s": Double(sequentialCycles) / sequentialSeconds,
                "claim_decide_multi_process_total_per_s": multiTotal,
                "claim_decide_multi_process_per_process_per_s": multiTotal / Double(processes),
                "full_cycle_per_s": Double(fullCycles) / fullSeconds,
                "decided_lookup_per_s": Double(lookups) / seconds(finalElapsed),
                "decided_lookup_halted_per_s": Double(lookups) / seconds(cachedElapsed),
                "decided_lookup_uncached_per_s": Double(uncachedCount) / seconds(uncachedElapsed),
            ]
            let report: [String: Any] = [
                "benchmark": "ledger",
                "build": "release",
                "journal_mode": durability.journalMode,
                "synchronous": "FULL",
                "parameters": [
                    "cycles": cycles, "concurrency": concurrency, "processes": processes, "lookups": lookups,
                    "sequential_cycles": sequentialCycles, "full_cycles": fullCycles,
                ],
                "rates": rates.mapValues { ($0 * 10).rounded() / 10 },
                "per_process_rates": perProcess.map { ($0 * 10).rounded() / 10 },
                "cycle":
                    "claim (1 txn) + decide halted with takeover record and 1 outbox event (1 txn); both fsync'd before returning",
                "full_cycle": "claim, gate-passed, submitting, granted + 2 events: 4 durable writes",
                "lookup":
                    "decision(for:) of decided keys; final decisions from memory, halted and uncached from the file",
                "cores": ProcessInfo.processInfo.activeProcessorCount,
                "load_average_at_end": (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
                    .split(separator: " ").prefix(3).joined(separator: " ") ?? "?",
                "writes_per_commit_single_process": singleLedger.writeStatistics.transactions > 0
                    ? Double(singleLedger.writeStatistics.operations)
                        / Double(singleLedger.writeStatistics.transactions) : 0,
                "date": Date().formatted(.iso8601),
            ]
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            if let output {
                try FileManager.default.createDirectory(
                    at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// One process of the multi-process measurement. Prints `{"cycles_per_s": …}`.
    struct Worker: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "worker")

        @Option(name: .long) var ledger: String
        @Option(name: .long) var cycles: Int
        @Option(name: .long) var concurrency: Int
        @Option(name: .long) var prefix: String
        @Option(name: .long) var startFile: String

        func run() async throws {
            let ledger = try SQLiteLedger(configuration: .init(path: self.ledger))
            while !FileManager.default.fileExists(atPath: startFile) { try await Task.sleep(for: .milliseconds(1)) }
            let prefix = self.prefix
            let seconds = try await BenchLedgerCommand.measure(count: cycles, concurrency: concurrency) { index in
                try await BenchLedgerCommand.cycle(ledger, index: index, prefix: prefix)
            }
            let statistics = ledger.writeStatistics
            print(
                "{\"cycles_per_s\": \(Double(cycles) / seconds), \"seconds\": \(seconds), "
                    + "\"transactions\": \(statistics.transactions), \"operations\": \(statistics.operations)}")
        }
    }
}
