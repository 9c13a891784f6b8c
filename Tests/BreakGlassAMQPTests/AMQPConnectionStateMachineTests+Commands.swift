@testable import BreakGlassAMQP
import Testing

/// Each command in each state, settling across generations, blocking, confirms, deliveries and timeouts.
extension AMQPConnectionStateMachineTests {
    // MARK: Commands in each state

    @Test(arguments: Situation.allCases)
    func publishInEachState(_ situation: Situation) {
        var machine = situation.make()
        let action = machine.publish(Publish(id: 1))
        switch (situation, action) {
        case (.connected, .send(let publish)), (.closingConnected, .send(let publish)):
            #expect(publish.id == 1)
        case (.connecting, .wait), (.settingUp, .wait), (.blocked, .wait), (.waitingToReconnect, .wait),
            (.closingOffline, .wait):
            #expect(machine.waitingPublishCount == 1)
        case (.closed, .fail(let completion)):
            #expect(completion.error?.code == .closed)
        default:
            Issue.record("unexpected \(action) in \(situation)")
        }
    }

    @Test(arguments: Situation.allCases)
    func consumeInEachState(_ situation: Situation) {
        var machine = situation.make()
        let expected: Machine.ConsumeAction =
            switch situation {
            case .connected, .blocked, .closingConnected: .startOnBroker
            case .connecting, .settingUp, .waitingToReconnect, .closingOffline: .registered
            case .closed: .fail(.closed())
            }
        #expect(machine.consume(Consumer(tag: "t")) == expected)
        #expect(machine.registeredConsumers.count == (expected == .registered ? 1 : 0))
    }

    @Test(arguments: Situation.allCases)
    func operationsNeedALiveConnection(_ situation: Situation) {
        let machine = situation.make()
        let expected: AMQPError.Code? =
            switch situation {
            case .connected, .blocked, .closingConnected: nil
            case .connecting, .settingUp, .waitingToReconnect, .closingOffline: .notConnected
            case .closed: .closed
            }
        #expect(machine.operationError?.code == expected)
    }

    @Test(arguments: Situation.allCases)
    func settleInEachState(_ situation: Situation) {
        var machine = situation.make()
        let generation = machine.liveGeneration
        #expect(
            machine.settle(tag: 1, generation: 1, kind: .reject(requeue: false))
                == (situation.isLive ? .reject(tag: 1, requeue: false) : nil))
        #expect(generation == (situation.isLive ? 1 : 0))
    }

    @Test(arguments: Situation.allCases)
    func cancelInEachState(_ situation: Situation) {
        var machine = situation.make()
        machine.register(Consumer(tag: "t"))
        let cancel = machine.cancel(tag: "t")
        #expect(cancel?.end.consumer == Consumer(tag: "t"))
        #expect(cancel?.end.error == nil)
        #expect(cancel?.sendToBroker == situation.isLive)
        #expect(machine.cancel(tag: "t") == nil, "a second cancel does nothing")
    }

    // MARK: Settling and generations

    @Test func acksAreCoalescedAndNeverSentTwice() {
        var machine = Self.connected()
        for tag in 1...3 { #expect(machine.settle(tag: UInt64(tag), generation: 1, kind: .ack) == nil) }
        #expect(machine.takeAckFrames() == [.init(tag: 3, multiple: true)])
        #expect(machine.settle(tag: 2, generation: 1, kind: .nack(requeue: true)) == nil, "already acked")
        #expect(machine.settle(tag: 4, generation: 1, kind: .nack(requeue: true)) == .nack(tag: 4, requeue: true))
        #expect(machine.settle(tag: 4, generation: 1, kind: .ack) == nil)
        #expect(machine.takeAckFrames().isEmpty)
    }

    @Test func settlementsOfAnEarlierGenerationAreRejected() {
        var machine = Self.connected()
        _ = machine.connectionFailed(.connectionLostForTest)
        #expect(machine.settle(tag: 1, generation: 1, kind: .ack) == nil)
        machine.reconnectDelayElapsed()
        _ = machine.connectionOpened()
        _ = machine.connectionReady()
        #expect(machine.liveGeneration == 2)
        #expect(machine.settle(tag: 1, generation: 1, kind: .reject(requeue: true)) == nil)
        #expect(machine.settle(tag: 1, generation: 1, kind: .ack) == nil)
        #expect(machine.takeAckFrames().isEmpty)
        #expect(machine.settle(tag: 1, generation: 2, kind: .reject(requeue: true)) == .reject(tag: 1, requeue: true))
        #expect(machine.settle(tag: 0, generation: 0, kind: .reject(requeue: true)) == nil)
    }

    // MARK: Blocked

    @Test func blockedConnectionHoldsPublishesUntilUnblocked() {
        var machine = Self.connected()
        #expect(machine.brokerBlocked() == .blocked)
        #expect(machine.isBlocked)
        #expect(machine.publish(Publish(id: 1)).isWait)
        #expect(machine.takeWaitingPublishes().isEmpty)
        #expect(machine.brokerUnblocked() == .ready)
        // Behind a waiting publish, a new one waits too: order is kept.
        #expect(machine.publish(Publish(id: 2)).isWait)
        #expect(machine.takeWaitingPublishes().map(\.id) == [1, 2])
        var offline = Self.machine()
        #expect(offline.brokerBlocked() == nil)
    }

    @Test func publishesNotWrittenGoFirst() {
        var machine = Self.connected()
        _ = machine.brokerBlocked()
        _ = machine.publish(Publish(id: 3))
        machine.publishesNotSent([Publish(id: 1), Publish(id: 2)])
        _ = machine.brokerUnblocked()
        #expect(machine.takeWaitingPublishes().map(\.id) == [1, 2, 3])
    }

    // MARK: Confirms, returns, deliveries, timeouts

    @Test func confirmsNacksAndReturns() {
        var machine = Self.connected()
        for id in 1...3 {
            guard case .send(let publish) = machine.publish(Publish(id: id, routingKey: "k\(id)")) else { continue }
            machine.publishSent(publish)
        }
        machine.returned(replyCode: 312, replyText: "NO_ROUTE", exchange: "x", routingKey: "k2", body: [])
        let settled = machine.confirm(tag: 2, multiple: true, nack: false)
        #expect(settled.map(\.publish.id) == [1, 2])
        #expect(settled[0].error == nil)
        #expect(settled[1].error == .publishReturned(replyCode: 312, reason: "NO_ROUTE"))
        #expect(machine.confirm(tag: 3, multiple: false, nack: true).first?.error?.code == .publishNacked)
        #expect(machine.unconfirmedCount == 0)
    }

    @Test func deliveriesGoToTheirConsumerOrBackToTheQueue() {
        var machine = Self.connected()
        machine.register(Consumer(tag: "c"))
        guard case .deliver(let consumer, let generation) = machine.delivery(consumerTag: "c", deliveryTag: 1) else {
            Issue.record("expected a delivery")
            return
        }
        #expect(consumer.tag == "c" && generation == 1)
        guard case .reject(let tag) = machine.delivery(consumerTag: "gone", deliveryTag: 2) else {
            Issue.record("expected a reject")
            return
        }
        #expect(tag == 2)
        guard case .drop = machine.delivery(consumerTag: "gone", deliveryTag: 2) else {
            Issue.record("a delivery must never be settled twice")
            return
        }
        #expect(machine.brokerCancelled(tag: "c")?.error?.code == .consumerCancelled)
        #expect(machine.brokerCancelled(tag: "c") == nil)
    }

    @Test func publishesPastTheirDeadlineTimeOut() {
        var machine = Self.connected()
        let now = ContinuousClock.now
        guard case .send(let sent) = machine.publish(Publish(id: 1, deadline: now.advanced(by: .seconds(1)))) else {
            Issue.record("expected a send")
            return
        }
        machine.publishSent(sent)
        _ = machine.brokerBlocked()
        _ = machine.publish(Publish(id: 2, deadline: now.advanced(by: .seconds(1))))
        _ = machine.publish(Publish(id: 3, deadline: now.advanced(by: .seconds(5))))
        #expect(machine.expire(now: now).isEmpty)
        let expired = machine.expire(now: now.advanced(by: .seconds(2)))
        #expect(expired.map(\.publish.id) == [2, 1])
        #expect(expired.map { $0.error?.reason } == ["publish not sent in time", "publish not confirmed in time"])
        #expect(machine.waitingPublishCount == 1)
    }
}

extension AMQPError {
    static let connectionRefusedForTest = AMQPError(code: .connectionRefused, reason: "refused")
    static let connectionLostForTest = AMQPError.connectionLost("lost")
}

extension AMQPConnectionStateMachine.PublishAction {
    var isWait: Bool {
        if case .wait = self { return true }
        return false
    }
}

extension AMQPConnectionStateMachine.Cancel: Equatable where Consumer: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.end.consumer == rhs.end.consumer && lhs.end.error == rhs.end.error && lhs.sendToBroker == rhs.sendToBroker
    }
}

extension AMQPConnectionStateMachine.ConsumerEnd: Equatable where Consumer: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool { lhs.consumer == rhs.consumer && lhs.error == rhs.error }
}
