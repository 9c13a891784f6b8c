import ArgumentParser
import BreakGlassAMQP
import Foundation
import Logging

/// `breakglass topology declare`: declares the contract §1 topology idempotently.
struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Manage the AMQP topology of contract §1.",
        subcommands: [Declare.self, Show.self]
    )

    struct Names: ParsableArguments {
        @Option(help: "Request exchange (direct).") var requestExchange = AMQPTopology.Configuration().requestExchange
        @Option(help: "Request queue (quorum).") var requestQueue = AMQPTopology.Configuration().requestQueue
        @Option(help: "Routing key binding the request queue.") var requestRoutingKey = AMQPTopology.Configuration().requestRoutingKey
        @Option(help: "x-delivery-limit of the request queue.") var deliveryLimit: Int64 = AMQPTopology.Configuration().deliveryLimit
        @Option(help: "Dead-letter exchange (fanout).") var deadLetterExchange = AMQPTopology.Configuration().deadLetterExchange
        @Option(help: "Dead-letter queue.") var deadLetterQueue = AMQPTopology.Configuration().deadLetterQueue
        @Option(help: "Event exchange (topic).") var eventExchange = AMQPTopology.Configuration().eventExchange
        @Option(help: "Alternate exchange of the event exchange (fanout).") var unroutedEventExchange = AMQPTopology.Configuration().unroutedEventExchange
        @Option(help: "Queue keeping unroutable events.") var unroutedEventQueue = AMQPTopology.Configuration().unroutedEventQueue

        var topology: AMQPTopology {
            var configuration = AMQPTopology.Configuration()
            configuration.requestExchange = requestExchange
            configuration.requestQueue = requestQueue
            configuration.requestRoutingKey = requestRoutingKey
            configuration.deliveryLimit = deliveryLimit
            configuration.deadLetterExchange = deadLetterExchange
            configuration.deadLetterQueue = deadLetterQueue
            configuration.eventExchange = eventExchange
            configuration.unroutedEventExchange = unroutedEventExchange
            configuration.unroutedEventQueue = unroutedEventQueue
            return AMQPTopology(configuration: configuration)
        }

        func validate() throws {
            guard (1...1000).contains(deliveryLimit) else { throw ValidationError("--delivery-limit must be 1...1000") }
        }
    }

    struct Declare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare exchanges, queues and bindings (idempotent; a conflicting existing object is reported).")

        @OptionGroup var connection: AMQPOptions
        @OptionGroup var names: Names
        @Option(help: "Seconds to wait for the broker.") var timeout: Int = 30

        func run() async throws {
            var logger = Logger(label: "breakglass.topology")
            logger.logLevel = .warning
            let amqp = try AMQPConnection(configuration: try connection.configuration(), logger: logger)
            do {
                try await amqp.waitUntilReady(timeout: .seconds(timeout))
                try await amqp.declare(names.topology)
            } catch let error as AMQPError {
                await amqp.close()
                throw AMQPCommandError(description: "topology declare failed: \(error.terminalMessage)")
            }
            await amqp.close()
            for declaration in names.topology.declarations { print("declared \(Show.describe(declaration))") }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the declarations without connecting.")
        @OptionGroup var names: Names

        func run() throws {
            for declaration in names.topology.declarations { print(Self.describe(declaration)) }
        }

        static func describe(_ declaration: AMQPTopology.Declaration) -> String {
            func arguments(_ table: [String: AMQPFieldValue]) -> String {
                table.isEmpty ? "" : " " + table.keys.sorted().map { key in
                    let value = table[key]!
                    return "\(key)=\(value.stringValue ?? value.intValue.map(String.init) ?? "\(value)")"
                }.joined(separator: " ")
            }
            switch declaration {
            case .exchange(let name, let type, let durable, let table):
                return "exchange \(name) type=\(type) durable=\(durable)\(arguments(table))"
            case .queue(let name, let durable, _, _, let table):
                return "queue \(name) durable=\(durable)\(arguments(table))"
            case .binding(let queue, let exchange, let routingKey):
                return "binding \(exchange) -> \(queue) key=\(routingKey.isEmpty ? "\"\"" : routingKey)"
            }
        }
    }
}
