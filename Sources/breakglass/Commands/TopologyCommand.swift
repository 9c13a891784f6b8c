import ArgumentParser
import BreakGlassAMQP
import Foundation
import Logging
import BreakGlassWorker

/// `breakglass topology declare`: declares the contract §1 topology idempotently.
struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Manage the AMQP topology of contract §1.",
        subcommands: [Declare.self, Show.self]
    )

    /// Topology names: each option overrides the configuration's key (`amqp.request_exchange`, ...), whose default
    /// is the contract's name.
    struct Names: ParsableArguments {
        @Option(help: "Request exchange (direct).") var requestExchange: String?
        @Option(help: "Request queue (quorum).") var requestQueue: String?
        @Option(help: "Routing key binding the request queue.") var requestRoutingKey: String?
        @Option(help: "x-delivery-limit of the request queue.") var deliveryLimit: Int64?
        @Option(help: "Dead-letter exchange (fanout).") var deadLetterExchange: String?
        @Option(help: "Dead-letter queue.") var deadLetterQueue: String?
        @Option(help: "Event exchange (topic).") var eventExchange: String?
        @Option(help: "Alternate exchange of the event exchange (fanout).") var unroutedEventExchange: String?
        @Option(help: "Queue keeping unroutable events.") var unroutedEventQueue: String?

        func topology(_ values: ConfigurationValues) -> AMQPTopology {
            var configuration = values.topologyConfiguration()
            configuration.requestExchange = requestExchange ?? configuration.requestExchange
            configuration.requestQueue = requestQueue ?? configuration.requestQueue
            configuration.requestRoutingKey = requestRoutingKey ?? configuration.requestRoutingKey
            configuration.deliveryLimit = deliveryLimit ?? configuration.deliveryLimit
            configuration.deadLetterExchange = deadLetterExchange ?? configuration.deadLetterExchange
            configuration.deadLetterQueue = deadLetterQueue ?? configuration.deadLetterQueue
            configuration.eventExchange = eventExchange ?? configuration.eventExchange
            configuration.unroutedEventExchange = unroutedEventExchange ?? configuration.unroutedEventExchange
            configuration.unroutedEventQueue = unroutedEventQueue ?? configuration.unroutedEventQueue
            return AMQPTopology(configuration: configuration)
        }

        func validate() throws {
            if let deliveryLimit, !(1...1000).contains(deliveryLimit) {
                throw ValidationError("--delivery-limit must be 1...1000")
            }
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
            let topology = names.topology(try await connection.values())
            let amqp = try AMQPConnection(configuration: try await connection.configuration(), logger: logger)
            do {
                try await amqp.waitUntilReady(timeout: .seconds(timeout))
                try await amqp.declare(topology)
            } catch let error as AMQPError {
                await amqp.close()
                throw AMQPCommandError(description: "topology declare failed: \(error.terminalMessage)")
            }
            await amqp.close()
            for declaration in topology.declarations { print("declared \(Show.describe(declaration))") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the declarations without connecting.")
        @OptionGroup var names: Names
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            for declaration in names.topology(try await options.load()).declarations {
                print(Self.describe(declaration))
            }
        }

        static func describe(_ declaration: AMQPTopology.Declaration) -> String {
            func arguments(_ table: [String: AMQPFieldValue]) -> String {
                table.isEmpty
                    ? ""
                    : " "
                        + table.keys.sorted().map { key in
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
