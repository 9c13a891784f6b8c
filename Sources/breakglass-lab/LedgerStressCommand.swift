import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import BreakGlassLedgerPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The ledger a drill works on: a file path, or a `postgres://` URL with the password in `passwordFile`.
enum DrillLedger {
    static func open(_ location: String, passwordFile: String?) async throws -> any Ledger {
        guard location.hasPrefix("postgres://") || location.hasPrefix("postgresql://") else {
            return try SQLiteLedger(configuration: .init(path: location))
        }
        let password = try passwordFile.map {
            try String(contentsOfFile: $0, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var logger = Logger(label: "breakglass.ledger")
        logger.logLevel = .warning
        return try await PostgresLedger.open(
            configuration: PostgresLedger.Configuration(url: location, password: password), logger: logger)
    }
}

/// Hidden drills for the ledger's process tests: several processes claiming the same keys, a process killed
/// inside a transaction, a relay killed between publish and mark. Not for operators.
struct LedgerStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-stress",
        abstract: "Ledger crash and concurrency drills (tests only).",

        subcommands: [Claim.self, Hold.self, Relay.self]
    )

    /// Claims keys `CASE-STRESS-0 … N-1 / tnt-stress` and decides the ones it wins (granted + one event each).
    /// Prints one JSON line: `{"owner":…,"won":[i…],"in_progress":n,"decided":n}`.
    struct Claim: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "claim")

        @Option(name: .long, help: "The ledger: a file, or a postgres:// URL.") var ledger: String
        @Option(name: .long, help: "The PostgreSQL password's file.") var passwordFile: String?
        @Option(name: .long, help: "How many keys.") var keys: Int = 100
        @Option(name: .long, help: "This process's owner id.") var owner: String
        @Option(name: .long, help: "Concurrent claims in this process.") var concurrency: Int = 8
        @Option(name: .long, help: "Wait until this file exists before starting (a start barrier).") var startFile:
            String?
        @Flag(name: .long, help: "Leave won claims undecided (in flight).") var noDecide = false

        func run() async throws {
            let ledger = try await DrillLedger.open(self.ledger, passwordFile: passwordFile)
            if let startFile {
                while !FileManager.default.fileExists(atPath: startFile) { try await Task.sleep(for: .milliseconds(2)) }
            }
            let decide = !noDecide
            let owner = self.owner
            let results: [(Int, String)] = try await withThrowingTaskGroup(of: [(Int, String)].self) { group in
                let lanes = max(1, concurrency)
                for lane in 0..<lanes {
                    group.addTask {
                        var results: [(Int, String)] = []
                        for index in stride(from: lane, to: keys, by: lanes) {
                            let key = RestorationKey(caseID: "CASE-STRESS-\(index)", tenantID: "tnt-stress")
                            switch try await ledger.claim(key, requestID: "REQ-\(index)-\(owner)", owner: owner) {
                            case .claimed(var claim):
                                if decide {
                                    claim = try await ledger.passGate(claim, approvalRefs: ["APR-1"], checkedAt: Date())
                                    claim = try await ledger.beginSubmitting(claim, recheckedAt: Date())
                                    try await ledger.decide(
                                        claim, .granted(confirmationID: "CONF-\(index)", expiresAt: nil),
                                        events: [
                                            OutboxMessage(
                                                eventID: "evt-\(index)", routingKey: "breakglass.restoration.outcome",
                                                body: Data("{\"owner\":\"\(owner)\"}".utf8), key: key)
                                        ])
                                }
                                results.append((index, "won"))
                            case .inProgress: results.append((index, "in_progress"))
                            case .decided: results.append((index, "decided"))
                            }
                        }
                        return results
                    }
                }
                var all: [(Int, String)] = []
                for try await part in group { all += part }
                return all
            }
            let won = results.filter { $0.1 == "won" }.map(\.0).sorted()
            let summary: [String: Any] = [
                "owner": owner, "won": won,
                "in_progress": results.filter { $0.1 == "in_progress" }.count,
                "decided": results.filter { $0.1 == "decided" }.count,
            ]
            let data = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            await ledger.shutdown()
        }
    }

    /// Writes inside an open transaction, prints `holding`, and blocks until killed.
    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hold")

        @Option(name: .long, help: "The ledger: a file, or a postgres:// URL.") var ledger: String
        @Option(name: .long, help: "The PostgreSQL password's file.") var passwordFile: String?
        @Option(name: .long, help: "CASE/TENANT") var key: String

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("--key must be CASE/TENANT") }
            let hold: @Sendable () -> Void = {
                print("holding")
                fflush(nil)
                while true { sleep(60) }
            }
            switch try await DrillLedger.open(self.ledger, passwordFile: passwordFile) {
            case let ledger as SQLiteLedger: try ledger.crashDrillHoldTransaction(key, inside: hold)
            case let ledger as PostgresLedger: try await ledger.crashDrillHoldTransaction(key, inside: hold)
            default: throw ValidationError("no crash drill for this ledger")
            }
        }
    }

    /// Runs the outbox relay with a publisher that appends each event id to a log file (fsync'd) and prints
    /// `published <id>`; after `--hang-after` publishes it blocks forever (before the relay can mark them).
    struct Relay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "relay")

        @Option(name: .long, help: "The ledger: a file, or a postgres:// URL.") var ledger: String
        @Option(name: .long, help: "The PostgreSQL password's file.") var passwordFile: String?
        @Option(name: .long, help: "Append published event ids here.") var publishLog: String
        @Option(name: .long, help: "Block forever after this many publishes.") var hangAfter: Int = 1

        func run() async throws {
            let ledger = try await DrillLedger.open(self.ledger, passwordFile: passwordFile)
            let publisher = try FileLogPublisher(path: publishLog, hangAfter: hangAfter)
            let relay = OutboxRelay(
                ledger: ledger, publisher: publisher, configuration: .init(owner: "relay-drill-\(getpid())"))
            try await relay.run()
        }
    }
}

/// The relay drill's publisher: "publishes" by appending the event id to a file and fsyncing it.
private final class FileLogPublisher: EventPublisher {
    private let descriptor: Int32
    private let hangAfter: Int
    private let count = Mutex(0)

    init(path: String, hangAfter: Int) throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { throw ValidationError("cannot open the publish log") }
        self.hangAfter = hangAfter
    }

    func publish(_ message: OutboxMessage) async throws {
        let line = Array((message.eventID + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        print("published \(message.eventID)")
        fflush(nil)
        let published = count.withLock { value in
            value += 1
            return value
        }
        if published >= hangAfter {
            // Between publish and mark: the drill kills the process here.
            while true { sleep(60) }
        }
    }
}
