import BreakGlassAMQP
import Testing

@Suite struct AMQPTopologyTests {
    @Test func contractDefaults() {
        let declarations = AMQPTopology().declarations
        #expect(declarations.contains(.exchange(name: "breakglass.requests", type: "direct")))
        #expect(declarations.contains(.exchange(name: "breakglass.dead", type: "fanout")))
        #expect(declarations.contains(.queue(name: "breakglass.dead")))
        #expect(
            declarations.contains(
                .binding(
                    queue: "breakglass.restorations", exchange: "breakglass.requests",
                    routingKey: "restoration.approved")))
        #expect(
            declarations.contains(
                .exchange(
                    name: "breakglass.events", type: "topic",
                    arguments: ["alternate-exchange": "breakglass.events.unrouted"])))
        let requestQueue = declarations.first {
            if case .queue(name: "breakglass.restorations", _, _, _, _) = $0 { return true }
            return false
        }
        guard case .queue(_, let durable, _, _, let arguments) = requestQueue else {
            Issue.record("request queue missing")
            return
        }
        #expect(durable)
        #expect(arguments["x-queue-type"] == "quorum")
        #expect(arguments["x-delivery-limit"] == .int(10))
        #expect(arguments["x-dead-letter-exchange"] == "breakglass.dead")
        #expect(arguments["x-dead-letter-strategy"] == "at-least-once")
        #expect(arguments["x-overflow"] == "reject-publish")
    }

    @Test func namesAreConfigurableAndExchangesComeBeforeBindings() {
        var configuration = AMQPTopology.Configuration()
        configuration.requestQueue = "custom.q"
        configuration.deliveryLimit = 3
        let declarations = AMQPTopology(configuration: configuration).declarations
        #expect(
            declarations.contains(
                .binding(queue: "custom.q", exchange: "breakglass.requests", routingKey: "restoration.approved")))
        let firstBinding =
            declarations.firstIndex {
                if case .binding = $0 { return true }
                return false
            } ?? 0
        let lastExchange =
            declarations.lastIndex {
                if case .exchange = $0 { return true }
                return false
            } ?? 0
        #expect(lastExchange < firstBinding)
    }
}
