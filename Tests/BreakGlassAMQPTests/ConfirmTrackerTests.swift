@testable import BreakGlassAMQP
import Testing

@Suite struct ConfirmTrackerTests {
    @Test func singleAndMultipleAcks() {
        var tracker = ConfirmTracker<String>()
        for name in ["a", "b", "c", "d"] { tracker.register(name) }
        let first = tracker.settle(tag: 2, multiple: false, nack: false)
        #expect(first.map(\.0) == ["b"])
        let rest = tracker.settle(tag: 4, multiple: true, nack: false)
        #expect(rest.map(\.0) == ["a", "c", "d"])
        #expect(tracker.isEmpty)
        let none = tracker.settle(tag: 4, multiple: true, nack: false)
        #expect(none.isEmpty)
    }

    @Test func nackFailsThePublish() {
        var tracker = ConfirmTracker<String>()
        tracker.register("a")
        let settled = tracker.settle(tag: 1, multiple: false, nack: true)
        guard case .nacked = settled.first?.1 else {
            Issue.record("expected a nack")
            return
        }
    }

    @Test func returnedPublishFailsWhenItsAckArrives() {
        var tracker = ConfirmTracker<String>()
        tracker.register("routed")
        tracker.register("unroutable")
        let marked = tracker.markReturned(replyCode: 312, replyText: "NO_ROUTE") { $0 == "unroutable" }
        #expect(marked)
        let settled = tracker.settle(tag: 2, multiple: true, nack: false)
        #expect(settled.count == 2)
        guard case .confirmed = settled[0].1, case .returned(let code, _) = settled[1].1 else {
            Issue.record("unexpected outcomes")
            return
        }
        #expect(code == 312)
    }

    @Test func expiryAndConnectionLossReleaseEverything() {
        var tracker = ConfirmTracker<Int>()
        for value in 1...5 { tracker.register(value) }
        let expired = tracker.removeExpired { $0 <= 2 }
        #expect(expired == [1, 2])
        #expect(tracker.count == 3)
        let all = tracker.removeAll()
        #expect(all == [3, 4, 5])
        #expect(tracker.nextSequence == 1)
    }
}
