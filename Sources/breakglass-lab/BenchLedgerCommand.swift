import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import BreakGlassLedgerPostgres
import Foundation
import Logging

/// Hidden benchmark behind `./scripts/bench ledger`: durable claim+decide cycles per second (one process and
/// several processes on one ledger), and lookups of already-decided keys per second, on SQLite and (with
/// `--postgres-url`) on PostgreSQL in the same run. Writes a JSON report.
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
        let key = fullCycleKey(index: index, prefix: prefix)
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

    /// The key `fullCycle` decides (granted: a final decision, served by the decision cache once seen).
    static func fullCycleKey(index: Int, prefix: String) -> RestorationKey {
        RestorationKey(caseID: "BENCHFULL-\(prefix)-\(index)", tenantID: "tnt-bench")
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
        return seconds(ContinuousClock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func rounded(_ value: Double, _ digits: Double = 10) -> Double { (value * digits).rounded() / digits }

    /// Starts `count` `bench-ledger worker` processes with `arguments(index)`, releases them together through a start
    /// file once every one had time to open its ledger, waits for them all; returns the total rate (all cycles over
    /// the wall time from the start file to the last exit), each process's own rate, and the load meanwhile.
    static func runWorkers(
        count: Int, cyclesPerProcess: Int, dir: String, name: String, postgresPID: Int32?,
        arguments: (Int) -> [String]
    ) async throws -> (total: Double, perProcess: [Double], load: [String: Any]) {
        let startFile = (dir as NSString).appendingPathComponent("go-\(name)")
        try? FileManager.default.removeItem(atPath: startFile)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var children: [(Process, URL)] = []
        for index in 0..<count {
            let process = Process()
            process.executableURL = binary
            process.arguments = ["bench-ledger", "worker", "--start-file", startFile] + arguments(index)
            let out = URL(fileURLWithPath: dir).appendingPathComponent("\(name)-worker-\(index).json")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: out)
            try process.run()
            children.append((process, out))
        }
        // Let every child open its ledger first (a PostgreSQL ledger connects, checks the schema and its clock).
        let ready = (dir as NSString).appendingPathComponent("ready-\(name)")
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let opened = (0..<count).filter { FileManager.default.fileExists(atPath: "\(ready)-\($0)") }.count
            if opened == count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(100))
        let probe = LoadProbe(postgresPID: postgresPID)
        let start = ContinuousClock.now
        _ = FileManager.default.createFile(atPath: startFile, contents: nil)
        var perProcess: [Double] = []
        for (process, out) in children {
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("a bench worker (\(name)) failed") }
            let data = try Data(contentsOf: out)
            let report = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            perProcess.append(report?["cycles_per_s"] as? Double ?? 0)
        }
        let elapsed = seconds(ContinuousClock.now - start)
        return (Double(cyclesPerProcess * count) / elapsed, perProcess, probe.finish())
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
        @OptionGroup var postgres: PostgresOptions
        @Option(name: .long, help: "PostgreSQL: processes of the multi-process measurement (3 hosts × 2 workers).")
        var postgresProcesses: Int = 6
        @Option(
            name: .long, help: "PostgreSQL: cycles per process of the multi-process measurement (default cycles/2).")
        var postgresProcessCycles: Int?
        @Option(name: .long, help: "PostgreSQL: the postmaster's pid, to tell the server's CPU from other load.")
        var postgresServerPid: Int32?
        @Option(name: .long, help: "PostgreSQL: seconds to wait before reading pg_stat_database (stats flush lag).")
        var statsSettleSeconds: Double = 11
        @Flag(name: .long, help: "Skip the SQLite measurements (PostgreSQL only; the report has no SQLite rates).")
        var skipSqlite = false

        func run() async throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var report: [String: Any] = [
                "benchmark": "ledger",
                "build": "release",
                "cores": ProcessInfo.processInfo.activeProcessorCount,
                "load_average_at_start": LoadProbe.loadAverage(),
            ]
            if !skipSqlite {
                report.merge(try await runSQLite()) { _, new in new }
            }
            if postgres.postgresURL != nil {
                let section = try await PostgresBench(
                    options: postgres, dir: dir, cycles: cycles, concurrency: concurrency,
                    processes: postgresProcesses, processCycles: postgresProcessCycles ?? max(500, cycles / 2),
                    lookups: lookups, postgresPID: postgresServerPid, settle: statsSettleSeconds
                ).run()
                report["postgres"] = section
                if let sqlite = report["rates"] as? [String: Double], let pg = section["rates"] as? [String: Double] {
                    report["comparison"] = Self.comparison(sqlite: sqlite, postgres: pg)
                }
            }
            report["load_average_at_end"] = LoadProbe.loadAverage()
            report["date"] = Date().formatted(.iso8601)
            let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
            if let output {
                try FileManager.default.createDirectory(
                    at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: URL(fileURLWithPath: output), options: .atomic)
            }
            print(String(decoding: data, as: UTF8.self))
        }

        /// Ratios measured in this run: PostgreSQL over SQLite per figure, concurrent over sequential per backend.
        static func comparison(sqlite: [String: Double], postgres: [String: Double]) -> [String: Any] {
            func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
                guard let numerator, let denominator, denominator > 0 else { return nil }
                return BenchLedgerCommand.rounded(numerator / denominator, 1000)
            }
            var postgresOverSQLite: [String: Double] = [:]
            for name in [
                "claim_decide_sequential_per_s", "claim_decide_per_s", "full_cycle_per_s",
                "claim_decide_multi_process_total_per_s", "claim_decide_multi_process_per_process_per_s",
                "decided_lookup_per_s", "decided_lookup_uncached_per_s",
            ] {
                postgresOverSQLite[name] = ratio(postgres[name], sqlite[name])
            }
            var concurrentOverSequential: [String: Double] = [:]
            concurrentOverSequential["sqlite"] = ratio(
                sqlite["claim_decide_per_s"], sqlite["claim_decide_sequential_per_s"])
            concurrentOverSequential["postgres"] = ratio(
                postgres["claim_decide_per_s"], postgres["claim_decide_sequential_per_s"])
            var multiOverOne: [String: Double] = [:]
            multiOverOne["sqlite"] = ratio(
                sqlite["claim_decide_multi_process_total_per_s"], sqlite["claim_decide_per_s"])
            multiOverOne["postgres"] = ratio(
                postgres["claim_decide_multi_process_total_per_s"], postgres["claim_decide_per_s"])
            return [
                "postgres_over_sqlite": postgresOverSQLite,
                "concurrent_over_sequential": concurrentOverSequential,
                "multi_process_total_over_one_process": multiOverOne,
            ]
        }

        /// The SQLite measurements (the report's top-level keys, read by bench/summary.py), with the load of each.
        func runSQLite() async throws -> [String: Any] {
            func fresh(_ name: String) throws -> String {
                let path = (dir as NSString).appendingPathComponent(name)
                for suffix in ["", "-wal", "-shm", ".open-lock"] {
                    try? FileManager.default.removeItem(atPath: path + suffix)
                }
                return path
            }
            let pid = postgresServerPid
            var load: [String: Any] = [:]

            // 1. One process, sequential (one cycle at a time: two fsyncs per cycle).
            let sequentialLedger = try SQLiteLedger(configuration: .init(path: try fresh("sequential.sqlite")))
            let durability = try sequentialLedger.durability()
            guard durability.synchronous == 2 else { throw ValidationError("ledger is not synchronous=FULL") }
            let sequentialCycles = max(500, cycles / 4)
            var probe = LoadProbe(postgresPID: pid)
            let sequentialSeconds = try await BenchLedgerCommand.measure(count: sequentialCycles, concurrency: 1) {
                index in
                try await BenchLedgerCommand.cycle(sequentialLedger, index: index, prefix: "seq")
            }
            load["claim_decide_sequential"] = probe.finish()

            // 2. One process, `concurrency` in flight: group commit.
            let singleLedger = try SQLiteLedger(configuration: .init(path: try fresh("single.sqlite")))
            probe = LoadProbe(postgresPID: pid)
            let singleSeconds = try await BenchLedgerCommand.measure(count: cycles, concurrency: concurrency) { index in
                try await BenchLedgerCommand.cycle(singleLedger, index: index, prefix: "one")
            }
            load["claim_decide"] = probe.finish()
            let fullCycles = max(500, cycles / 2)
            probe = LoadProbe(postgresPID: pid)
            let fullSeconds = try await BenchLedgerCommand.measure(count: fullCycles, concurrency: concurrency) {
                index in
                try await BenchLedgerCommand.fullCycle(singleLedger, index: index, prefix: "one")
            }
            load["full_cycle"] = probe.finish()

            // 3. `processes` processes on one file, started together.
            let multiPath = try fresh("multi.sqlite")
            _ = try SQLiteLedger(configuration: .init(path: multiPath))
            let cycles = self.cycles
            let concurrency = self.concurrency
            let multi = try await BenchLedgerCommand.runWorkers(
                count: processes, cyclesPerProcess: cycles, dir: dir, name: "sqlite", postgresPID: pid
            ) { index in
                [
                    "--ledger", multiPath, "--cycles", "\(cycles)", "--concurrency", "\(concurrency)",
                    "--prefix", "p\(index)", "--ready-file", "\(dir)/ready-sqlite-\(index)",
                ]
            }
            load["claim_decide_multi_process"] = multi.load
            let perProcess = multi.perProcess
            let multiTotal = multi.total

            // 4. Lookups of decided keys: from memory (what every redelivery hits) and from the file.
            let decidedKeys = (0..<cycles).map { RestorationKey(caseID: "BENCH-one-\($0)", tenantID: "tnt-bench") }
            let cachedLedger = try SQLiteLedger(
                configuration: .init(path: (dir as NSString).appendingPathComponent("single.sqlite")))
            let haltedKeys = Array(decidedKeys.prefix(1000))
            for key in haltedKeys { _ = try cachedLedger.decision(for: key) }
            var hits = 0
            probe = LoadProbe(postgresPID: pid)
            let cachedStart = ContinuousClock.now
            for index in 0..<lookups where try cachedLedger.decision(for: haltedKeys[index % haltedKeys.count]) != nil {
                hits += 1
            }
            let cachedElapsed = ContinuousClock.now - cachedStart
            load["decided_lookup_halted"] = probe.finish()
            // Halted is not final, so `BENCH-one-*` are answered from the file each time: use granted keys too.
            var uncachedConfiguration = SQLiteLedger.Configuration(
                path: (dir as NSString).appendingPathComponent("single.sqlite"))
            uncachedConfiguration.decisionCacheLimit = 0
            let uncachedLedger = try SQLiteLedger(configuration: uncachedConfiguration)
            let uncachedCount = max(10_000, lookups / 10)
            probe = LoadProbe(postgresPID: pid)
            let uncachedStart = ContinuousClock.now
            for index in 0..<uncachedCount
            where try uncachedLedger.decision(for: decidedKeys[index % decidedKeys.count]) != nil {
                hits += 1
            }
            let uncachedElapsed = ContinuousClock.now - uncachedStart
            load["decided_lookup_uncached"] = probe.finish()
            guard hits == lookups + uncachedCount else { throw ValidationError("a decided key was not found") }
            // The cached path only serves final decisions (granted/rejected/resolved); use granted keys for it.
            let grantedKeys = (0..<fullCycles).map { BenchLedgerCommand.fullCycleKey(index: $0, prefix: "one") }
            for key in grantedKeys { _ = try cachedLedger.decision(for: key) }
            probe = LoadProbe(postgresPID: pid)
            let finalStart = ContinuousClock.now
            var finalHits = 0
            for index in 0..<lookups where try cachedLedger.decision(for: grantedKeys[index % grantedKeys.count]) != nil
            {
                finalHits += 1
            }
            let finalElapsed = ContinuousClock.now - finalStart
            load["decided_lookup"] = probe.finish()
            guard finalHits == lookups else { throw ValidationError("a granted key was not found") }

            let seconds = BenchLedgerCommand.seconds
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
            return [
                "journal_mode": durability.journalMode,
                "synchronous": "FULL",
                "parameters": [
                    "cycles": cycles, "concurrency": concurrency, "processes": processes, "lookups": lookups,
                    "sequential_cycles": sequentialCycles, "full_cycles": fullCycles,
                ],
                "rates": rates.mapValues { BenchLedgerCommand.rounded($0) },
                "per_process_rates": perProcess.map { BenchLedgerCommand.rounded($0) },
                "load": load,
                "cpu_ms_per_cycle": [
                    "claim_decide_sequential": LoadProbe.cpuPerOperation(
                        load["claim_decide_sequential"], rate: rates["claim_decide_sequential_per_s"]),
                    "claim_decide": LoadProbe.cpuPerOperation(load["claim_decide"], rate: rates["claim_decide_per_s"]),
                    "claim_decide_multi_process": LoadProbe.cpuPerOperation(
                        load["claim_decide_multi_process"], rate: rates["claim_decide_multi_process_total_per_s"]),
                ],
                "cycle":
                    "claim (1 txn) + decide halted with takeover record and 1 outbox event (1 txn); both fsync'd before returning",
                "full_cycle": "claim, gate-passed, submitting, granted + 2 events: 4 durable writes",
                "lookup":
                    "decision(for:) of decided keys; final decisions from memory, halted and uncached from the file",
                "writes_per_commit_single_process": singleLedger.writeStatistics.transactions > 0
                    ? Double(singleLedger.writeStatistics.operations)
                        / Double(singleLedger.writeStatistics.transactions) : 0,
            ]
        }
    }

    /// Where the PostgreSQL ledger is (`run` and `worker`).
    struct PostgresOptions: ParsableArguments {
        @Option(
            name: .customLong("postgres-url"),
            help: "Also measure PostgreSQL: postgres://USER@HOST:PORT/DB?sslmode=disable (no password in it).")
        var postgresURL: String?
        @Option(name: .customLong("postgres-password-file"), help: "The PostgreSQL password, in a file.")
        var postgresPasswordFile: String?
        @Option(name: .long, help: "PostgreSQL: the ledger's connection pool size (the ledger's default is 8).")
        var postgresConnections: Int = 8

        /// The ledger's configuration (nil without `--postgres-url`).
        func configuration(decisionCacheLimit: Int? = nil) throws -> PostgresLedger.Configuration? {
            guard let postgresURL else { return nil }
            var configuration = try PostgresLedger.Configuration(url: postgresURL, password: try password())
            configuration.maximumConnections = postgresConnections
            if let decisionCacheLimit { configuration.decisionCacheLimit = decisionCacheLimit }
            return configuration
        }

        func password() throws -> String? {
            try postgresPasswordFile.map {
                try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        func open(decisionCacheLimit: Int? = nil) async throws -> PostgresLedger? {
            guard let configuration = try configuration(decisionCacheLimit: decisionCacheLimit) else { return nil }
            var logger = Logger(label: "breakglass.bench-ledger")
            logger.logLevel = .warning
            return try await PostgresLedger.open(configuration: configuration, logger: logger)
        }

        /// The arguments that hand these options to a `worker` process.
        var workerArguments: [String] {
            var arguments: [String] = []
            if let postgresURL { arguments += ["--postgres-url", postgresURL] }
            if let postgresPasswordFile { arguments += ["--postgres-password-file", postgresPasswordFile] }
            return arguments + ["--postgres-connections", "\(postgresConnections)"]
        }
    }

    /// The PostgreSQL measurements: the same cycles, processes and lookups as SQLite's, on one database, each
    /// measurement with its own key prefix (a run token keeps runs on one database apart). Also proves that cached
    /// decided-key lookups send nothing to the server: `pg_stat_database` (transactions, rows fetched) read with
    /// psql before and after them, beside a positive control (uncached lookups) and an idle control.
    struct PostgresBench {
        let options: PostgresOptions
        let dir: String
        let cycles: Int
        let concurrency: Int
        let processes: Int
        let processCycles: Int
        let lookups: Int
        let postgresPID: Int32?
        let settle: Double

        func run() async throws -> [String: Any] {
            guard let configuration = try options.configuration() else { return [:] }
            let stats = ServerStats(configuration: configuration)
            let settings = try stats.query(
                "SELECT current_setting('synchronous_commit') || '|' || current_setting('fsync') || '|' || "
                    + "current_setting('server_version') || '|' || current_setting('wal_sync_method') || '|' || "
                    + "current_setting('commit_delay')"
            )
            .split(separator: "|").map(String.init)
            guard settings.count == 5, settings[0] == "on", settings[1] == "on" else {
                throw ValidationError("PostgreSQL is not synchronous_commit=on with fsync=on: \(settings)")
            }
            let token = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
            let pid = postgresPID
            var load: [String: Any] = [:]
            guard let ledger = try await options.open() else { return [:] }

            // 1. One process, sequential: one cycle at a time (two commits, each waiting for its WAL flush).
            let sequentialCycles = max(500, cycles / 4)
            var probe = LoadProbe(postgresPID: pid)
            let sequentialSeconds = try await BenchLedgerCommand.measure(count: sequentialCycles, concurrency: 1) {
                index in
                try await BenchLedgerCommand.cycle(ledger, index: index, prefix: "pgseq\(token)")
            }
            load["claim_decide_sequential"] = probe.finish()

            // 2. One process, `concurrency` in flight (queued on the pool's connections; the server groups the WAL
            //    flushes of commits that wait together).
            probe = LoadProbe(postgresPID: pid)
            let singleSeconds = try await BenchLedgerCommand.measure(count: cycles, concurrency: concurrency) { index in
                try await BenchLedgerCommand.cycle(ledger, index: index, prefix: "pgone\(token)")
            }
            load["claim_decide"] = probe.finish()
            let fullCycles = max(500, cycles / 2)
            let fullPrefix = "pgone\(token)"
            probe = LoadProbe(postgresPID: pid)
            let fullSeconds = try await BenchLedgerCommand.measure(count: fullCycles, concurrency: concurrency) {
                index in
                try await BenchLedgerCommand.fullCycle(ledger, index: index, prefix: fullPrefix)
            }
            load["full_cycle"] = probe.finish()

            // 3. Decided-key lookups. Cached: the granted keys this ledger decided (remembered when decided; one
            //    warm-up pass). Uncached: a second ledger without a cache, every lookup a query.
            let grantedKeys = (0..<fullCycles).map { BenchLedgerCommand.fullCycleKey(index: $0, prefix: fullPrefix) }
            guard let uncachedLedger = try await options.open(decisionCacheLimit: 0) else { return [:] }
            for key in grantedKeys where try await ledger.decision(for: key) == nil {
                throw ValidationError("a granted key was not found")
            }
            _ = try await uncachedLedger.decision(for: grantedKeys[0])  // its first connection, before the counters
            let uncachedCount = max(2_000, min(lookups / 100, 20_000))

            try await Task.sleep(for: .seconds(settle))  // pending statistics of the writes reach pg_stat_database
            let before = try stats.counters()
            probe = LoadProbe(postgresPID: pid)
            let cachedStart = ContinuousClock.now
            var hits = 0
            for index in 0..<lookups where try await ledger.decision(for: grantedKeys[index % grantedKeys.count]) != nil
            {
                hits += 1
            }
            let cachedSeconds = BenchLedgerCommand.seconds(ContinuousClock.now - cachedStart)
            load["decided_lookup"] = probe.finish()
            try await Task.sleep(for: .seconds(settle))
            let afterCached = try stats.counters()

            probe = LoadProbe(postgresPID: pid)
            let uncachedStart = ContinuousClock.now
            for index in 0..<uncachedCount
            where try await uncachedLedger.decision(for: grantedKeys[index % grantedKeys.count]) != nil {
                hits += 1
            }
            let uncachedSeconds = BenchLedgerCommand.seconds(ContinuousClock.now - uncachedStart)
            load["decided_lookup_uncached"] = probe.finish()
            try await Task.sleep(for: .seconds(settle))
            let afterUncached = try stats.counters()
            guard hits == lookups + uncachedCount else { throw ValidationError("a decided key was not found") }

            // Idle control: the same wait with no lookups (the psql read itself, the pool's keep-alives, autovacuum).
            try await Task.sleep(for: .seconds(max(cachedSeconds, 0.1) + settle))
            let afterIdle = try stats.counters()
            await uncachedLedger.shutdown()
            await ledger.shutdown()

            // 4. `processes` processes (3 hosts × 2 workers), distinct keys per process, started together.
            let processCycles = self.processCycles
            let concurrency = self.concurrency
            let workerArguments = options.workerArguments
            let multi = try await BenchLedgerCommand.runWorkers(
                count: processes, cyclesPerProcess: processCycles, dir: dir, name: "postgres", postgresPID: pid
            ) { index in
                workerArguments + [
                    "--cycles", "\(processCycles)", "--concurrency", "\(concurrency)",
                    "--prefix", "pgp\(index)\(token)", "--ready-file", "\(dir)/ready-postgres-\(index)",
                ]
            }
            load["claim_decide_multi_process"] = multi.load

            let rates: [String: Double] = [
                "claim_decide_sequential_per_s": Double(sequentialCycles) / sequentialSeconds,
                "claim_decide_per_s": Double(cycles) / singleSeconds,
                "full_cycle_per_s": Double(fullCycles) / fullSeconds,
                "claim_decide_multi_process_total_per_s": multi.total,
                "claim_decide_multi_process_per_process_per_s": multi.total / Double(processes),
                "decided_lookup_per_s": Double(lookups) / cachedSeconds,
                "decided_lookup_uncached_per_s": Double(uncachedCount) / uncachedSeconds,
            ]
            let cachedDelta = afterCached - before
            let uncachedDelta = afterUncached - afterCached
            let idleDelta = afterIdle - afterUncached
            return [
                "location": configuration.redactedURL,
                "server_version": settings[2],
                "synchronous_commit": settings[0],
                "fsync": settings[1],
                "wal_sync_method": settings[3],
                "commit_delay": settings[4],
                "maximum_connections_per_process": configuration.maximumConnections,
                "parameters": [
                    "cycles": cycles, "concurrency": concurrency, "sequential_cycles": sequentialCycles,
                    "full_cycles": fullCycles, "processes": processes, "cycles_per_process": processCycles,
                    "lookups": lookups, "uncached_lookups": uncachedCount, "run_token": token,
                ],
                "rates": rates.mapValues { BenchLedgerCommand.rounded($0) },
                "per_process_rates": multi.perProcess.map { BenchLedgerCommand.rounded($0) },
                "cpu_ms_per_cycle": [
                    "claim_decide_sequential": LoadProbe.cpuPerOperation(
                        load["claim_decide_sequential"], rate: rates["claim_decide_sequential_per_s"]),
                    "claim_decide": LoadProbe.cpuPerOperation(load["claim_decide"], rate: rates["claim_decide_per_s"]),
                    "claim_decide_multi_process": LoadProbe.cpuPerOperation(
                        load["claim_decide_multi_process"], rate: rates["claim_decide_multi_process_total_per_s"]),
                ],
                "one_process_target_per_s": 1000,
                "one_process_target_met": rates["claim_decide_per_s", default: 0] >= 1000,
                "load": load,
                "decision_cache_proof": [
                    "counters": "pg_stat_database of the bench database: xact_commit + xact_rollback (server "
                        + "transactions) and tup_fetched; pg_stat_user_tables: seq_scan + idx_scan of restorations "
                        + "(one per decision(for:) query); read with psql (one session per read, counted too) "
                        + "after \(settle) s of quiet each time (backends flush their statistics within 10 s)",
                    "cached_lookups": lookups,
                    "server_transactions_during_cached_lookups": cachedDelta.transactions,
                    "rows_fetched_during_cached_lookups": cachedDelta.rowsFetched,
                    "restorations_scans_during_cached_lookups": cachedDelta.restorationScans,
                    "restorations_scans_during_uncached_lookups": uncachedDelta.restorationScans,
                    "restorations_scans_during_idle_control": idleDelta.restorationScans,
                    "uncached_lookups_positive_control": uncachedCount,
                    "server_transactions_during_uncached_lookups": uncachedDelta.transactions,
                    "rows_fetched_during_uncached_lookups": uncachedDelta.rowsFetched,
                    "server_transactions_during_idle_control": idleDelta.transactions,
                    "rows_fetched_during_idle_control": idleDelta.rowsFetched,
                    "cached_lookups_queried_the_server": cachedDelta.restorationScans > 0
                        || cachedDelta.transactions > max(idleDelta.transactions, 2) + 5,
                ],
                "cycle": "as SQLite's: claim (1 transaction) + decide halted with takeover record and 1 outbox event "
                    + "(1 transaction); each COMMIT returns after its WAL flush (synchronous_commit = on)",
            ]
        }
    }

    /// One process of the multi-process measurement. Prints `{"cycles_per_s": …}`.
    struct Worker: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "worker")

        @Option(name: .long, help: "The SQLite file (without --postgres-url).") var ledger: String?
        @Option(name: .long) var cycles: Int
        @Option(name: .long) var concurrency: Int
        @Option(name: .long) var prefix: String
        @Option(name: .long) var startFile: String
        @Option(name: .long, help: "Created once the ledger is open.") var readyFile: String?
        @OptionGroup var postgres: PostgresOptions

        func run() async throws {
            let ledger: any Ledger
            var sqlite: SQLiteLedger?
            if let postgresLedger = try await postgres.open() {
                ledger = postgresLedger
            } else if let path = self.ledger {
                let opened = try SQLiteLedger(configuration: .init(path: path))
                sqlite = opened
                ledger = opened
            } else {
                throw ValidationError("--ledger or --postgres-url is required")
            }
            if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: nil) }
            while !FileManager.default.fileExists(atPath: startFile) { try await Task.sleep(for: .milliseconds(1)) }
            let prefix = self.prefix
            let seconds = try await BenchLedgerCommand.measure(count: cycles, concurrency: concurrency) { index in
                try await BenchLedgerCommand.cycle(ledger, index: index, prefix: prefix)
            }
            let statistics = sqlite?.writeStatistics
            print(
                "{\"cycles_per_s\": \(Double(cycles) / seconds), \"seconds\": \(seconds), "
                    + "\"transactions\": \(statistics?.transactions ?? 0), \"operations\": \(statistics?.operations ?? 0)}"
            )
            await ledger.shutdown()
        }
    }
}

/// `pg_stat_database` of the bench database, read with psql (the lab does not link PostgresNIO itself).
struct ServerStats {
    struct Counters {
        var transactions: Int
        var rowsFetched: Int
        /// Sequential and index scans of the `restorations` table (every `decision(for:)` query makes one).
        var restorationScans: Int

        static func - (lhs: Counters, rhs: Counters) -> Counters {
            Counters(
                transactions: lhs.transactions - rhs.transactions, rowsFetched: lhs.rowsFetched - rhs.rowsFetched,
                restorationScans: lhs.restorationScans - rhs.restorationScans)
        }
    }

    let configuration: PostgresLedger.Configuration

    func counters() throws -> Counters {
        let fields = try query(
            """
            SELECT d.xact_commit + d.xact_rollback, d.tup_fetched,
                (SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables
                 WHERE relname = 'restorations')
            FROM pg_stat_database d WHERE d.datname = current_database()
            """
        ).split(separator: "|").compactMap { Int($0) }
        guard fields.count == 3 else { throw ValidationError("cannot read pg_stat_database") }
        return Counters(transactions: fields[0], rowsFetched: fields[1], restorationScans: fields[2])
    }

    /// One statement in its own psql session; its single-row answer, trimmed.
    func query(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.psql())
        process.arguments = [
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", configuration.host, "-p", "\(configuration.port)",
            "-U", configuration.username, "-d", configuration.database, "-c", sql,
        ]
        var environment = ProcessInfo.processInfo.environment
        if let password = configuration.password { environment["PGPASSWORD"] = password }
        environment["PGSSLMODE"] = "disable"
        if case .disable = configuration.tls {} else { environment["PGSSLMODE"] = "require" }
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("psql failed: \(sql)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The newest server's psql (`/usr/lib/postgresql/N/bin`), else `/usr/bin/psql`.
    static func psql() -> String {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap { Int($0) }
        for version in versions.sorted(by: >) {
            let path = "\(base)/\(version)/bin/psql"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "/usr/bin/psql"
    }
}

/// How loaded the machine was during one measurement: the 1-minute load average before and after, and CPU use in
/// cores (CPU seconds per wall second) from /proc: the whole machine (busy, and waiting for I/O), this process and
/// its reaped children (the bench), the PostgreSQL server (the postmaster and its backends, when its pid is known),
/// and everything else (other work on the machine).
struct LoadProbe {
    struct Snapshot {
        var instant = ContinuousClock.now
        var loadAverage: Double
        var busyTicks: Double
        var iowaitTicks: Double
        var benchTicks: Double
        var postgresTicks: Double?
    }

    let postgresPID: Int32?
    let start: Snapshot

    init(postgresPID: Int32?) {
        self.postgresPID = postgresPID
        self.start = Self.snapshot(postgresPID: postgresPID)
    }

    /// The load since `init`, as JSON.
    func finish() -> [String: Any] {
        let end = Self.snapshot(postgresPID: postgresPID)
        let wall = max(BenchLedgerCommand.seconds(end.instant - start.instant), 1e-3)
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        func cores(_ ticks: Double) -> Double { BenchLedgerCommand.rounded(ticks / hertz / wall, 100) }
        let busy = end.busyTicks - start.busyTicks
        let bench = end.benchTicks - start.benchTicks
        var result: [String: Any] = [
            "seconds": BenchLedgerCommand.rounded(wall, 100),
            "load_average_1m_before": start.loadAverage,
            "load_average_1m_after": end.loadAverage,
            "machine_busy_cores": cores(busy),
            "iowait_cores": cores(end.iowaitTicks - start.iowaitTicks),
            "bench_cores": cores(bench),
        ]
        var other = busy - bench
        if let from = start.postgresTicks, let to = end.postgresTicks {
            result["postgres_cores"] = cores(to - from)
            other -= to - from
        }
        result["other_cores"] = cores(max(0, other))
        return result
    }

    /// CPU milliseconds per operation (the bench's and the server's) from a load report and the rate measured.
    static func cpuPerOperation(_ load: Any?, rate: Double?) -> [String: Double] {
        guard let load = load as? [String: Any], let rate, rate > 0 else { return [:] }
        var result: [String: Double] = [:]
        for (name, key) in [("bench", "bench_cores"), ("postgres", "postgres_cores")] {
            if let cores = load[key] as? Double { result[name] = BenchLedgerCommand.rounded(cores * 1000 / rate, 1000) }
        }
        return result
    }

    static func snapshot(postgresPID: Int32?) -> Snapshot {
        var busy = 0.0
        var iowait = 0.0
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        {
            // user nice system idle iowait irq softirq steal (guest time is already in user).
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            if fields.count >= 8 {
                busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
                iowait = fields[4]
            }
        }
        let own = processTimes(pid: getpid())
        return Snapshot(
            loadAverage: loadAverageOneMinute(), busyTicks: busy, iowaitTicks: iowait,
            benchTicks: own.map { $0.own + $0.children } ?? 0,
            postgresTicks: postgresPID.map(postgresTicks(postmaster:)))
    }

    /// The postmaster's own and reaped children's CPU, plus its live children's (its backends and workers).
    static func postgresTicks(postmaster: Int32) -> Double {
        var total = processTimes(pid: postmaster).map { $0.own + $0.children } ?? 0
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != postmaster, let times = processTimes(pid: pid),
                times.parent == postmaster
            else { continue }
            total += times.own
        }
        return total
    }

    /// utime + stime, cutime + cstime and the parent of one process, from /proc/PID/stat.
    static func processTimes(pid: Int32) -> (own: Double, children: Double, parent: Int32)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
        // cutime cstime …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let parent = Int32(fields[1]), let utime = Double(fields[11]),
            let stime = Double(fields[12]), let cutime = Double(fields[13]), let cstime = Double(fields[14])
        else { return nil }
        return (utime + stime, cutime + cstime, parent)
    }

    static func loadAverageOneMinute() -> Double {
        Double(loadAverage().split(separator: " ").first ?? "") ?? -1
    }

    /// The first three fields of /proc/loadavg.
    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}
