import BreakGlassLedger
import Testing

@Suite("Doorbell (the relay's in-process wake-up)")
struct DoorbellTests {
    @Test func aRingBeforeTheWaitIsNotLost() async {
        let doorbell = Doorbell()
        doorbell.ring()
        let start = ContinuousClock.now
        await doorbell.wait(timeout: .seconds(3600))
        #expect(ContinuousClock.now - start < .seconds(60), "returned because of the earlier ring, not the timeout")
    }

    @Test func aRingWakesAWaiter() async {
        let doorbell = Doorbell()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await doorbell.wait(timeout: .seconds(3600)) }
            // Ring until the waiter is gone (a ring before it waits is kept, so one ring is enough either way).
            doorbell.ring()
            await group.waitForAll()
        }
    }

    @Test func theWaitEndsAtTheTimeoutWithoutARing() async {
        let doorbell = Doorbell()
        let start = ContinuousClock.now
        await doorbell.wait(timeout: .milliseconds(20))
        #expect(ContinuousClock.now - start >= .milliseconds(20))
    }

    @Test func cancellationEndsTheWait() async {
        let doorbell = Doorbell()
        let task = Task { await doorbell.wait(timeout: .seconds(3600)) }
        task.cancel()
        await task.value
    }
}
