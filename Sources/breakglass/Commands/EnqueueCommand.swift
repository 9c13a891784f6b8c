import ArgumentParser
import BreakGlassAMQP
import BreakGlassCore
import Foundation
import Logging

/// `breakglass enqueue FILE... --key SEEDFILE`: signs approved-restoration requests and publishes them to the
/// request exchange with publisher confirms (the escalation side of the demo and of load tests).
struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Sign and publish restoration requests with publisher confirms.",
        discussion: """
            Each FILE is one JSON request, unless it ends in .jsonl/.ndjson or --lines is given: then every \
            non-empty line is one request. "-" reads JSON lines from standard input. Each body is signed \
            (x-breakglass-signature over the exact bytes), sent persistent with content_type application/json \
            and message_id = request_id, and counts as enqueued only once the broker confirmed it.
            """
    )

    @Argument(help: "Request files (JSON), JSON-lines files, or - for JSON lines on stdin.")
    var files: [String]

    @Option(name: .long, help: "Signing key file: base64 of the raw 32-byte Ed25519 seed.")
    var key: String

    @Option(name: .long, help: "Key id for the header (default: the seed file's name without .seed).")
    var keyID: String?

    @Flag(name: .long, help: "Treat every file as JSON lines.")
    var lines = false

    @Option(help: "Exchange to publish to.")
    var exchange = AMQPTopology.Configuration().requestExchange

    @Option(help: "Routing key.")
    var routingKey = AMQPTopology.Configuration().requestRoutingKey

    @Option(help: "Publishes in flight at once (pipelining).")
    var window: Int = 256

    @Flag(name: .long, help: "Declare the contract topology first.")
    var declare = false

    @Option(help: "Seconds to wait for the broker before giving up.")
    var timeout: Int = 30

    @OptionGroup var connection: AMQPOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one FILE (or - for stdin)") }
        guard (1...10_000).contains(window) else { throw ValidationError("--window must be 1...10000") }
    }

    struct Item: Sendable {
        var origin: String
        var body: [UInt8]
    }

    func run() async throws {
        let keyURL = URL(fileURLWithPath: key)
        let signer: RequestSigner
        do {
            signer = try RequestSigner(
                keyID: keyID ?? keyURL.deletingPathExtension().lastPathComponent, seedFile: keyURL)
        } catch {
            throw AMQPCommandError(description: "cannot use signing key \(key): \(error)")
        }
        var logger = Logger(label: "breakglass.enqueue")
        logger.logLevel = .warning
        let amqp = try AMQPConnection(configuration: try await connection.configuration(), logger: logger)
        do {
            try await amqp.waitUntilReady(timeout: .seconds(timeout))
            if declare {
                try await amqp.declare(
                    AMQPTopology(configuration: try await connection.values().topologyConfiguration()))
            }
        } catch let error as AMQPError {
            await amqp.close()
            throw AMQPCommandError(description: "broker not usable: \(error.terminalMessage)")
        }

        let progress = Progress()
        let exchange = self.exchange
        let routingKey = self.routingKey
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                var inFlight = 0
                for try await item in Self.items(files: files, lines: lines) {
                    if inFlight >= window, let ok = try await group.next() {
                        inFlight -= 1
                        progress.record(ok)
                    }
                    let message = AMQPMessage.signedRequest(body: item.body, signer: signer)
                    let origin = item.origin
                    group.addTask {
                        do {
                            try await amqp.publish(message, exchange: exchange, routingKey: routingKey, mandatory: true)
                            return true
                        } catch let error as AMQPError {
                            FileHandle.standardError.write(
                                Data("\(origin): not enqueued (\(error.terminalMessage))\n".utf8))
                            return false
                        }
                    }
                    inFlight += 1
                    progress.submitted += 1
                }
                for try await ok in group { progress.record(ok) }
            }
        } catch {
            await amqp.close()
            throw error
        }
        await amqp.close()
        print("enqueued \(progress.confirmed), failed \(progress.failed)")
        if progress.failed > 0 { throw ExitCode(1) }
    }

    /// Counts and prints progress to stderr for large batches.
    final class Progress {
        var submitted = 0
        var confirmed = 0
        var failed = 0

        func record(_ ok: Bool) {
            if ok { confirmed += 1 } else { failed += 1 }
            let done = confirmed + failed
            if done % 1000 == 0 {
                FileHandle.standardError.write(
                    Data("… \(done) published (\(confirmed) confirmed, \(failed) failed)\n".utf8))
            }
        }
    }

    /// The request bodies of all inputs, in order (all inputs are read before publishing starts).
    static func items(files: [String], lines: Bool) -> AsyncThrowingStream<Item, any Error> {
        AsyncThrowingStream { continuation in
            do {
                for file in files {
                    let data: Data
                    if file == "-" {
                        data = FileHandle.standardInput.readDataToEndOfFile()
                    } else {
                        do {
                            data = try Data(contentsOf: URL(fileURLWithPath: file))
                        } catch {
                            throw AMQPCommandError(description: "cannot read \(file)")
                        }
                    }
                    let asLines = lines || file == "-" || file.hasSuffix(".jsonl") || file.hasSuffix(".ndjson")
                    if asLines {
                        var number = 0
                        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                            number += 1
                            var bytes = [UInt8](line)
                            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                            continuation.yield(Item(origin: "\(file):\(number)", body: bytes))
                        }
                    } else {
                        continuation.yield(Item(origin: file, body: [UInt8](data)))
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
    }
}
