import ArgumentParser
import BreakGlassAMQP
import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import BreakGlassEvidence

/// `breakglass dead list|show|replay|purge`: the dead-letter queue for a person.
///
/// `list` and `show` take nothing away: the messages are received without an acknowledgement and go back to the
/// queue, in their order, when the command closes its connection. `replay` republishes one message's original bytes
/// and headers to the request exchange (publisher confirm) and only then removes it from the dead-letter queue;
/// `purge` removes one (or all). Both need `--by` and `--reason` and append a record (who, why, when, which
/// message, its body's SHA-256) to `dead-letter-actions.jsonl` beside the ledger (owner-only).
struct DeadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead",
        abstract: "Inspect, replay or purge dead-lettered requests (breakglass.dead).",
        subcommands: [List.self, Show.self, Replay.self, Purge.self]
    )

    /// Options shared by the subcommands: the broker (like `topology`) and how many dead letters to read at most.
    struct Source: ParsableArguments {
        @OptionGroup var connection: AMQPOptions
        @Option(name: .long, help: "Read at most this many dead letters (1...5000).") var max: Int = 1000
        @Option(name: .long, help: "Seconds to wait for the broker.") var timeout: Int = 30

        func validate() throws {
            guard (1...5000).contains(max) else { throw ValidationError("--max must be 1...5000") }
        }
    }

    /// One dead letter as read, with what the broker and the ledger say about it.
    struct Letter {
        let position: Int
        let delivery: AMQPDelivery
        var messageID: String { delivery.properties.messageID ?? "-" }
        var sha256: String { EvidenceStore.sha256Hex(Data(delivery.body)) }

        /// The first `x-death` entry: why the broker dead-lettered it (rejected, delivery_limit, expired), from
        /// which queue, when, how often.
        var death: (reason: String, queue: String, time: Date?, count: Int64) {
            guard case .array(let deaths)? = delivery.headers["x-death"], case .table(let first)? = deaths.first else {
                return ("-", "-", nil, 0)
            }
            var time: Date?
            if case .timestamp(let seconds)? = first["time"] {
                time = Date(timeIntervalSince1970: TimeInterval(seconds))
            }
            return (
                first["reason"]?.stringValue ?? "-", first["queue"]?.stringValue ?? "-", time,
                first["count"]?.intValue ?? 0
            )
        }

        func matches(_ id: String) -> Bool { id == "#\(position)" || id == messageID }
    }

    /// Receives up to `max` dead letters without acknowledging them; `body` runs with them, then the connection
    /// closes (everything not acknowledged goes back to the queue).
    static func withLetters<T>(
        _ source: Source, _ body: (AMQPConnection, [Letter], ConfigurationValues) async throws -> T
    ) async throws -> T {
        let values = try await source.connection.values()
        var logger = Logger(label: "breakglass.dead")
        logger.logLevel = .warning
        let amqp = try AMQPConnection(configuration: try await source.connection.configuration(), logger: logger)
        let queue = values.topologyConfiguration().deadLetterQueue
        do {
            try await amqp.waitUntilReady(timeout: .seconds(source.timeout))
            let depth = Int(try await amqp.queueStatus(queue).messageCount)
            let wanted = min(depth, source.max)
            var letters: [Letter] = []
            if wanted > 0 {
                let consumer = try await amqp.consume(queue: queue, prefetch: UInt16(wanted))
                // The deliveries are in the queue already; the deadline only bounds a broker that stops answering.
                let received = try await withThrowingTaskGroup(of: [AMQPDelivery]?.self) { group in
                    group.addTask {
                        var received: [AMQPDelivery] = []
                        for try await delivery in consumer {
                            received.append(delivery)
                            if received.count == wanted { break }
                        }
                        return received
                    }
                    group.addTask {
                        try await Task.sleep(for: .seconds(source.timeout))
                        return nil
                    }
                    defer { group.cancelAll() }
                    return try await group.next() ?? nil
                }
                guard let received else {
                    throw CommandFailure(
                        .failed,
                        "dead-letter queue \(queue): \(wanted) messages announced, not all received in \(source.timeout) s"
                    )
                }
                letters = received.enumerated().map { Letter(position: $0.offset + 1, delivery: $0.element) }
            }
            let result = try await body(amqp, letters, values)
            await amqp.close()
            return result
        } catch let error as AMQPError {
            await amqp.close()
            throw CommandFailure(.failed, "dead-letter queue \(queue): \(error.terminalMessage)")
        } catch {
            await amqp.close()
            throw error
        }
    }

    /// The ledger of the configuration, opened once per command when it exists (for the worker's own reasons).
    static func ledger(_ values: ConfigurationValues) async -> (any Ledger)? {
        if let path = values.sqliteLedgerPath, !FileManager.default.fileExists(atPath: path) { return nil }
        return try? await values.openLedger(logger: CommandFailure.quietLogger)
    }

    /// The worker's own rejection reasons for a request id, from the ledger when there is one.
    static func rejectionReasons(_ letter: Letter, ledger: (any Ledger)?) async -> [String]? {
        guard letter.messageID != "-", let ledger,
            let events = try? await ledger.rejectionEvents(requestID: letter.messageID), let last = events.last,
            let object = try? JSONSerialization.jsonObject(with: last.message.body) as? [String: Any],
            let data = object["data"] as? [String: Any]
        else { return nil }
        return data["reasons"] as? [String]
    }

    static func row(_ letter: Letter, ledger: (any Ledger)?) async -> [String: Any?] {
        let death = letter.death
        let reasons = await rejectionReasons(letter, ledger: ledger)
        return [
            "position": letter.position, "message_id": letter.messageID, "broker_reason": death.reason,
            "queue": death.queue, "dead_lettered_at": death.time.map { Timestamp.format($0) }, "deaths": death.count,
            "signed": letter.delivery.signature != nil, "bytes": letter.delivery.body.count,
            "body_sha256": letter.sha256,
            "worker_reasons": reasons,
        ]
    }

    static func find(_ id: String, in letters: [Letter]) throws -> Letter {
        let found = letters.filter { $0.matches(id) }
        guard let letter = found.first else {
            throw CommandFailure(.notFound, "no dead letter \(id) (dead list shows them)")
        }
        guard found.count == 1 else {
            throw CommandFailure(
                .failed, "\(found.count) dead letters have message id \(id): name one by position (#N)")
        }
        return letter
    }

    /// Appends one action record beside the ledger (owner-only), and returns its path.
    static func record(
        _ action: String, _ letter: Letter, by: String, reason: String, values: ConfigurationValues
    ) throws -> String {
        let ledgerPath = values[Config.ledgerPath]
        let path = URL(fileURLWithPath: ledgerPath).deletingLastPathComponent().appendingPathComponent(
            "dead-letter-actions.jsonl"
        ).path
        let masker = Masker()
        let entry: [String: Any] = [
            "action": action, "by": masker.mask(by), "reason": masker.mask(reason), "at": Timestamp.format(Date()),
            "message_id": letter.messageID, "body_sha256": letter.sha256, "broker_reason": letter.death.reason,
        ]
        let line =
            try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys, .withoutEscapingSlashes])
            + Data("\n".utf8)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw CommandFailure(.failed, "cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw CommandFailure(.failed, "cannot write \(path)")
        }
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        return path
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters (nothing is removed).")
        @OptionGroup var source: Source
        @Flag(name: .long, help: "One JSON object per line instead of a table.") var json = false

        func run() async throws {
            try await DeadCommand.withLetters(source) { _, letters, values in
                let ledger = await DeadCommand.ledger(values)
                var rows: [[String: Any?]] = []
                for letter in letters { rows.append(await DeadCommand.row(letter, ledger: ledger)) }
                await ledger?.shutdown()
                if json {
                    for row in rows { LedgerFormat.printJSON(row) }
                    return
                }
                print(
                    LedgerFormat.table(
                        ["#", "MESSAGE ID", "BROKER REASON", "WORKER REASONS", "DEAD-LETTERED", "BYTES"],
                        rows.map { row in
                            [
                                "#\(row["position"].flatMap { $0 } ?? "")",
                                "\(row["message_id"].flatMap { $0 } ?? "-")",
                                "\(row["broker_reason"].flatMap { $0 } ?? "-")",
                                ((row["worker_reasons"].flatMap { $0 } as? [String]) ?? ["(not in the ledger)"]).joined(
                                    separator: ","),
                                "\(row["dead_lettered_at"].flatMap { $0 } ?? "-")",
                                "\(row["bytes"].flatMap { $0 } ?? "")",
                            ]
                        }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead letter (#N or its message id; nothing is removed).")
        @OptionGroup var source: Source
        @Argument(help: "#N (position in dead list) or the message id") var id: String

        func run() async throws {
            try await DeadCommand.withLetters(source) { _, letters, values in
                let letter = try DeadCommand.find(id, in: letters)
                let ledger = await DeadCommand.ledger(values)
                let row = await DeadCommand.row(letter, ledger: ledger)
                await ledger?.shutdown()
                LedgerFormat.printJSON(
                    row.merging([
                        "headers": letter.delivery.headers.keys.sorted(),
                        "content_type": letter.delivery.properties.contentType,
                    ]) { old, _ in old })
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Republish one dead letter's original bytes and headers to the request exchange, after a person fixed the cause."
        )
        @OptionGroup var source: Source
        @Argument(help: "#N or the message id") var id: String
        @Option(name: .long, help: "Who replays it.") var by: String
        @Option(name: .long, help: "What was fixed and why it is sent again.") var reason: String

        func run() async throws {
            guard !by.trimmingCharacters(in: .whitespaces).isEmpty, !reason.trimmingCharacters(in: .whitespaces).isEmpty
            else {
                throw ValidationError("--by and --reason are required")
            }
            try await DeadCommand.withLetters(source) { amqp, letters, values in
                let letter = try DeadCommand.find(id, in: letters)
                let topology = values.topologyConfiguration()
                var properties = letter.delivery.properties
                // The broker's bookkeeping is not the message: the copy starts a fresh delivery count.
                for header in [
                    "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                    "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count",
                ] {
                    properties.headers[header] = nil
                }
                properties.headers["x-breakglass-replayed-by"] = .string(Masker().mask(by))
                properties.headers["x-breakglass-replayed-at"] = .string(Timestamp.format(Date()))
                do {
                    try await amqp.publish(
                        AMQPMessage(body: letter.delivery.body, properties: properties),
                        exchange: topology.requestExchange, routingKey: topology.requestRoutingKey)
                } catch let error as AMQPError {
                    throw CommandFailure(
                        .failed, "replay of \(id) not confirmed (it stays dead-lettered): \(error.terminalMessage)")
                }
                try letter.delivery.ack()
                let path = try DeadCommand.record("replay", letter, by: by, reason: reason, values: values)
                print(
                    "replayed \(letter.messageID) to \(topology.requestExchange) (\(topology.requestRoutingKey)); recorded in \(path)"
                )
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove dead letters for good (one, or --all of those read).")
        @OptionGroup var source: Source
        @Argument(help: "#N or the message id (omit with --all)") var id: String?
        @Flag(name: .long, help: "Every dead letter read (up to --max).") var all = false
        @Option(name: .long, help: "Who removes them.") var by: String
        @Option(name: .long, help: "Why.") var reason: String

        func validate() throws {
            guard (id == nil) == all else { throw ValidationError("give one id, or --all") }
            guard !by.trimmingCharacters(in: .whitespaces).isEmpty, !reason.trimmingCharacters(in: .whitespaces).isEmpty
            else {
                throw ValidationError("--by and --reason are required")
            }
        }

        func run() async throws {
            try await DeadCommand.withLetters(source) { _, letters, values in
                let chosen = try all ? letters : [DeadCommand.find(id ?? "", in: letters)]
                var path = ""
                for letter in chosen {
                    // Recorded first: a purge is never unexplained.
                    path = try DeadCommand.record("purge", letter, by: by, reason: reason, values: values)
                    try letter.delivery.ack()
                }
                print("purged \(chosen.count) dead letter(s); recorded in \(path.isEmpty ? "-" : path)")
            }
        }
    }
}
