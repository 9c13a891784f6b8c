@testable import BreakGlassAMQP
import Testing

@Suite("AMQPConnectionStateMachine")
struct AMQPConnectionStateMachineTests {
    struct Publish: AMQPStatePublish, Equatable {
        var id: Int
        var exchange = "x"
        var routingKey = "k"
        var body: [UInt8] = []
        var deadline = ContinuousClock.now.advanced(by: .seconds(60))

        func matchesReturn(exchange: String, routingKey: String, body: [UInt8]) -> Bool {
            self.exchange == exchange && self.routingKey == routingKey && self.body == body
        }
    }

    struct Consumer: AMQPStateConsumer, Equatable {
        var tag: String
    }

    typealias Machine = AMQPConnectionStateMachine<Publish, Consumer>

    static let exchange = AMQPTopology.Declaration.exchange(
        name: "topology", type: "topic", durable: true, arguments: [:])
    static let extra = AMQPTopology.Declaration.queue(
        name: "extra", durable: true, exclusive: false, autoDelete: false, arguments: [:])

    static func machine() -> Machine {
        Machine(topology: [exchange], reconnect: .init())
    }

    /// A machine connected on its first connection.
    static func connected() -> Machine {
        var machine = machine()
        _ = machine.connectionOpened()
        _ = machine.connectionReady()
        return machine
    }

    /// The states a machine can be in, each with a way to get there.
    enum Situation: String, CaseIterable, CustomTestStringConvertible {
        case connecting, settingUp, connected, blocked, waitingToReconnect, closingConnected, closingOffline, closed
        var testDescription: String { rawValue }

        func make() -> Machine {
            var machine = AMQPConnectionStateMachineTests.machine()
            switch self {
            case .connecting: break
            case .settingUp: _ = machine.connectionOpened()
            case .connected: machine = AMQPConnectionStateMachineTests.connected()
            case .blocked:
                machine = AMQPConnectionStateMachineTests.connected()
                _ = machine.brokerBlocked()
            case .waitingToReconnect: _ = machine.connectionFailed(.connectionRefusedForTest, random: { 0.5 })
            case .closingConnected:
                machine = AMQPConnectionStateMachineTests.connected()
                machine.close()
            case .closingOffline:
                _ = machine.connectionFailed(.connectionRefusedForTest, random: { 0.5 })
                machine.close()
            case .closed: _ = machine.shutdown()
            }
            return machine
        }

        var isLive: Bool { self == .connected || self == .blocked || self == .closingConnected }
    }

    // MARK: Lifecycle

    @Test func firstConnectionIsGenerationOneAndReady() {
        var machine = Self.machine()
        #expect(machine.wantsConnection)
        #expect(machine.lifecycle == .connecting(attempt: 0, generation: nil))
        let setup = machine.connectionOpened()
        #expect(setup.generation == 1)
        #expect(setup.declarations == [Self.exchange])
        #expect(machine.liveGeneration == 0, "not live until topology and consumers are restored")
        #expect(machine.connectionReady() == .ready)
        #expect(machine.lifecycle == .connected(generation: 1, blocked: false))
        #expect(machine.liveGeneration == 1)
        #expect(!machine.wantsConnection)
    }

    @Test func failedAttemptsCountUpAndResetOnceConnected() {
        var machine = Self.machine()
        var attempts: [Int] = []
        var delays: [Duration] = []
        for _ in 0..<3 {
            let failure = machine.connectionFailed(.connectionRefusedForTest, random: { 0.5 })
            guard case .reconnect(let attempt, let delay, let state) = failure.next else {
                Issue.record("expected a reconnect")
                return
            }
            #expect(state == .reconnecting(attempt: attempt, lastError: .connectionRefused))
            #expect(machine.lastFailure?.code == .connectionRefused)
            attempts.append(attempt)
            delays.append(delay)
            #expect(!machine.wantsConnection)
            machine.reconnectDelayElapsed()
            #expect(machine.wantsConnection)
        }
        #expect(attempts == [1, 2, 3])
        #expect(delays == [.milliseconds(200), .milliseconds(400), .milliseconds(800)])
        _ = machine.connectionOpened()
        #expect(machine.connectionReady() == .ready)
        #expect(machine.lastFailure == nil)
        guard
            case .reconnect(let attempt, let delay, _) = machine.connectionFailed(
                .connectionLostForTest, random: { 0.5 }
            ).next
        else {
            Issue.record("expected a reconnect")
            return
        }
        #expect(attempt == 1)
        #expect(delay == .milliseconds(200))
    }

    @Test func reconnectDeclaresTopologyAndRememberedDeclarationsAndRestoresConsumersInOrder() {
        var machine = Self.connected()
        machine.declared(Self.extra)
        machine.declared(Self.extra)
        machine.declared(Self.exchange)
        #expect(machine.rememberedDeclarations == [Self.extra], "declared once, the configured topology not again")
        for tag in ["a", "b", "c"] {
            #expect(machine.consume(Consumer(tag: tag)) == .startOnBroker)
            machine.register(Consumer(tag: tag))
        }
        _ = machine.cancel(tag: "b")
        _ = machine.connectionFailed(.connectionLostForTest)
        machine.reconnectDelayElapsed()
        let setup = machine.connectionOpened()
        #expect(setup.generation == 2)
        #expect(setup.declarations == [Self.exchange, Self.extra])
        #expect(setup.consumers == [Consumer(tag: "a"), Consumer(tag: "c")])
        // The queue of "a" is gone meanwhile: it ends with the broker's error and is not restored again.
        let gone = machine.removeConsumer(tag: "a", error: .brokerClosed(replyCode: 404, reason: "NOT_FOUND"))
        #expect(gone?.error?.replyCode == 404)
        _ = machine.connectionReady()
        #expect(machine.liveGeneration == 2)
        #expect(machine.registeredConsumers == [Consumer(tag: "c")])
    }

    @Test func consumersRegisteredWhileOfflineStartWithTheNextConnection() {
        var machine = Self.machine()
        #expect(machine.consume(Consumer(tag: "early")) == .registered)
        #expect(machine.connectionOpened().consumers == [Consumer(tag: "early")])
    }

    // MARK: Shutdown

    @Test("shutdown in every state finishes every publish and consumer exactly once", arguments: Situation.allCases)
    func shutdownFinishesEverythingOnce(_ situation: Situation) {
        var machine = situation.make()
        var finishedPublishes: [Int] = []
        var finishedConsumers: [String] = []
        var publishes = 0
        var consumers = 0
        func publish() {
            publishes += 1
            switch machine.publish(Publish(id: publishes)) {
            case .send(let publish): machine.publishSent(publish)
            case .wait: break
            case .fail(let completion): finishedPublishes.append(completion.publish.id)
            }
        }
        func consume() {
            consumers += 1
            let consumer = Consumer(tag: "c\(consumers)")
            switch machine.consume(consumer) {
            case .startOnBroker: machine.register(consumer)
            case .registered: break
            case .fail: finishedConsumers.append(consumer.tag)
            }
        }
        for _ in 0..<3 { publish() }
        consume()
        consume()
        if situation.isLive {
            // One confirmed, one settled by its ack: neither may come back at shutdown.
            for completion in machine.confirm(tag: 1, multiple: false, nack: false) {
                finishedPublishes.append(completion.publish.id)
            }
        }
        if let end = machine.cancel(tag: "c1") { finishedConsumers.append(end.end.consumer.tag) }
        publish()
        let shutdown = machine.shutdown()
        finishedPublishes += shutdown.publishes.map(\.publish.id)
        finishedConsumers += shutdown.consumers.map(\.consumer.tag)
        #expect(shutdown.publishes.allSatisfy { $0.error?.code == .closed })
        #expect(shutdown.consumers.allSatisfy { $0.error == nil })
        #expect(finishedPublishes.sorted() == Array(1...publishes))
        #expect(finishedConsumers.sorted() == (1...consumers).map { "c\($0)" })
        #expect(machine.lifecycle == .closed)
        let again = machine.shutdown()
        #expect(again.publishes.isEmpty && again.consumers.isEmpty)
    }

    @Test func aLostConnectionFailsUnconfirmedPublishesButKeepsWaitingOnes() {
        var machine = Self.connected()
        guard case .send(let first) = machine.publish(Publish(id: 1)) else {
            Issue.record("expected a send")
            return
        }
        machine.publishSent(first)
        _ = machine.brokerBlocked()
        #expect(machine.publish(Publish(id: 2)).isWait)
        let failure = machine.connectionFailed(.connectionLostForTest)
        #expect(failure.publishes.map(\.publish.id) == [1])
        #expect(
            failure.publishes.first?.error
                == AMQPError(code: .connectionLost, reason: "connection lost before the confirm"))
        #expect(machine.waitingPublishCount == 1)
        #expect(!machine.isBlocked, "a new connection starts unblocked")
        machine.reconnectDelayElapsed()
        #expect(machine.takeWaitingPublishes().isEmpty, "not before the connection is ready")
        _ = machine.connectionOpened()
        _ = machine.connectionReady()
        #expect(machine.takeWaitingPublishes().map(\.id) == [2])
    }

    // MARK: Closing

    @Test func closingWaitsForConfirmsThenClosesGracefully() {
        var machine = Self.connected()
        guard case .send(let publish) = machine.publish(Publish(id: 1)) else {
            Issue.record("expected a send")
            return
        }
        machine.publishSent(publish)
        machine.close()
        #expect(machine.isClosing)
        #expect(!machine.readyToCloseGracefully)
        #expect(machine.confirm(tag: 1, multiple: false, nack: false).map(\.publish.id) == [1])
        #expect(machine.readyToCloseGracefully)
        machine.closedGracefully()
        #expect(!machine.wantsConnection)
        #expect(machine.liveGeneration == 0)
    }

    @Test func closingWhileBlockedDoesNotWaitForPublishesThatCannotBeSent() {
        var machine = Self.connected()
        _ = machine.brokerBlocked()
        _ = machine.publish(Publish(id: 1))
        machine.close()
        #expect(machine.readyToCloseGracefully)
        #expect(machine.shutdown().publishes.map(\.publish.id) == [1])
    }

    @Test func closingWhileWaitingToReconnectEndsWithoutAnotherAttempt() {
        var machine = Self.machine()
        _ = machine.connectionFailed(.connectionRefusedForTest)
        machine.close()
        machine.reconnectDelayElapsed()
        #expect(!machine.wantsConnection)
        #expect(machine.isClosing)
        #expect(!machine.readyToCloseGracefully, "no connection to close: shut down")
    }

    @Test func aConnectionLostWhileClosingShutsDown() {
        var machine = Self.connected()
        machine.close()
        guard case .shutDown = machine.connectionFailed(.connectionLostForTest).next else {
            Issue.record("expected a shutdown")
            return
        }
        #expect(!machine.wantsConnection)
    }
}
