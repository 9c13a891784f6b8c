// BreakGlassAMQP side of `scripts/bench transport` (built by the script with swiftc -O against the library
// sources; see scripts/bench).
// usage: bench-transport URL QUEUE COUNT BODY_BYTES PREFETCH WINDOW
// Publishes COUNT persistent messages with publisher confirms (at most WINDOW in flight), then consumes them
// with prefetch PREFETCH, acking each one. Prints one JSON line.
import BreakGlassAMQP
import Foundation
import Logging

@main
struct BenchTransport {
    static func main() async throws {
        // Off the main actor: a worker consumes on the global concurrent executor, not on the main queue.
        try await run(CommandLine.arguments)
    }

    nonisolated static func run(_ arguments: [String]) async throws {
        guard arguments.count == 7, let count = Int(arguments[3]), let size = Int(arguments[4]),
              let prefetch = UInt16(arguments[5]), let window = Int(arguments[6]) else {
            FileHandle.standardError.write(Data("usage: bench-transport URL QUEUE COUNT BODY_BYTES PREFETCH WINDOW\n".utf8))
            exit(2)
        }
        let queue = arguments[2]
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let connection = try AMQPConnection(configuration: try .init(url: arguments[1]), logger: logger)
        try await connection.waitUntilReady(timeout: .seconds(30))
        try await connection.declare([.queue(name: queue)])
        let message = AMQPMessage(body: [UInt8](repeating: UInt8(ascii: "x"), count: size),
                                  properties: AMQPProperties(contentType: "application/octet-stream", deliveryMode: 2))

        let clock = ContinuousClock()
        let publishStart = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for _ in 0..<count {
                if inFlight >= window {
                    try await group.next()
                    inFlight -= 1
                }
                group.addTask { try await connection.publish(message, exchange: "", routingKey: queue, mandatory: false) }
                inFlight += 1
            }
            try await group.waitForAll()
        }
        let publishSeconds = seconds(clock.now - publishStart)

        let consumeStart = clock.now
        let consumer = try await connection.consume(queue: queue, prefetch: prefetch)
        var received = 0
        for try await delivery in consumer {
            try delivery.ack()
            received += 1
            if received == count { break }
        }
        _ = try await connection.queueStatus(queue)  // a round trip after the last ack was handed over
        let consumeSeconds = seconds(clock.now - consumeStart)
        consumer.cancel()
        try await connection.deleteQueue(queue)
        await connection.close()
        let line = String(format: "{\"client\":\"breakglass\",\"messages\":%d,\"publish_seconds\":%.4f,\"publish_msgs_per_s\":%.1f,\"consume_seconds\":%.4f,\"consume_msgs_per_s\":%.1f}",
                          count, publishSeconds, Double(count) / publishSeconds, consumeSeconds, Double(count) / consumeSeconds)
        print(line)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
