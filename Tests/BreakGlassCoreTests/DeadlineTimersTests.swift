@testable import BreakGlassCore
import Synchronization
import Testing

/// Issue 21: sleeps that leave nothing behind when cancelled (`DeadlineTimers`), ordered by `TimerHeap`.
@Suite("Deadline timers: cancellable sleeps, one dispatch timer")
struct DeadlineTimersTests {
    @Test func theHeapPopsInDeadlineOrderThenIDOrder() {
        var generator = SystemRandomNumberGenerator()
        let base = ContinuousClock.now
        var heap = TimerHeap()
        var expected: [TimerHeap.Item] = []
        for id in 0..<2_000 {
            let deadline = base.advanced(by: .milliseconds(Int.random(in: 0..<300, using: &generator)))
            heap.insert(deadline, id: UInt64(id))
            expected.append(.init(deadline: deadline, id: UInt64(id)))
            if id % 7 == 0, let popped = heap.popFirst() {
                let smallest = expected.min { ($0.deadline, $0.id) < ($1.deadline, $1.id) }!
                #expect(popped == smallest)
                expected.removeAll { $0 == smallest }
            }
        }
        var popped: [TimerHeap.Item] = []
        while let item = heap.popFirst() { popped.append(item) }
        #expect(popped == expected.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) })
        #expect(heap.isEmpty)
    }

    @Test func aSleepEndsNoEarlierThanItsDeadline() async throws {
        let timers = DeadlineTimers()
        let start = ContinuousClock.now
        try await timers.sleep(for: .milliseconds(30))
        #expect(ContinuousClock.now - start >= .milliseconds(30))
        #expect(timers.waitingCount == 0)
    }

    @Test func aPastDeadlineReturnsAtOnce() async throws {
        let timers = DeadlineTimers()
        try await timers.sleep(until: .now.advanced(by: .seconds(-1)))
        #expect(timers.waitingCount == 0 && timers.heapCount == 0)
    }

    /// Each of many sleepers with scattered deadlines (the order is the heap's, tested above) wakes, and none before
    /// its deadline, whatever the machine's load.
    @Test func everySleeperWakesNoEarlierThanItsDeadline() async throws {
        let timers = DeadlineTimers()
        let early = Order()
        let base = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let deadline = base.advanced(by: .milliseconds((index * 37) % 150))
                    try await timers.sleep(until: deadline)
                    if ContinuousClock.now < deadline { early.items.withLock { $0.append(index) } }
                }
            }
            try await group.waitForAll()
        }
        #expect(early.items.withLock { $0 } == [])
        #expect(timers.waitingCount == 0 && timers.heapCount == 0)
    }

    /// Yields until `condition` holds; records an issue after 30 s instead of hanging.
    private static func wait(
        until condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 30 s", sourceLocation: sourceLocation)
                return
            }
            await Task.yield()
        }
    }

    /// A sleep of centuries neither traps nor wakes early.
    @Test func aSleepOfCenturiesCanBeCancelled() async throws {
        let timers = DeadlineTimers()
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await timers.sleep(for: .seconds(Int64.max / 2)) }
            await Self.wait(until: { timers.waitingCount >= 1 })
            group.cancelAll()
        }
        #expect(timers.waitingCount == 0)
    }

    private final class Order: Sendable {
        let items = Mutex<[Int]>([])
    }

    /// The point of it: a cancelled sleep of a minute returns at once and keeps nothing waiting.
    @Test func aCancelledSleepReturnsAtOnceAndKeepsNothing() async throws {
        let timers = DeadlineTimers()
        let start = ContinuousClock.now
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<1_000 {
                group.addTask {
                    do {
                        try await timers.sleep(for: .seconds(60))
                        return false
                    } catch {
                        return error is CancellationError
                    }
                }
            }
            await Self.wait(until: { timers.waitingCount >= 1_000 })
            #expect(timers.waitingCount == 1_000)
            group.cancelAll()
            var cancelled = 0
            for await wasCancelled in group where wasCancelled { cancelled += 1 }
            #expect(cancelled == 1_000)
        }
        #expect(ContinuousClock.now - start < .seconds(30), "cancelled sleeps did not wait for their minute")
        #expect(timers.waitingCount == 0)
        #expect(timers.heapCount == 0, "every cancelled entry was dropped from the heap")
    }

    /// Cancelled entries behind a long sleep do not pile up: the heap is rebuilt from the sleepers.
    @Test func cancelledEntriesBehindALongSleepAreCompacted() async {
        let timers = DeadlineTimers()
        await withThrowingTaskGroup(of: Void.self) { long in
            long.addTask { try await timers.sleep(for: .seconds(60)) }
            await Self.wait(until: { timers.waitingCount >= 1 })
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<5_000 { group.addTask { try? await timers.sleep(for: .seconds(90)) } }
                await Self.wait(until: { timers.waitingCount >= 5_001 })
                group.cancelAll()
            }
            #expect(timers.waitingCount == 1)
            #expect(timers.heapCount <= 1_025, "the 5,000 cancelled entries were dropped, not kept for 90 s")
            long.cancelAll()
        }
        #expect(timers.waitingCount == 0 && timers.heapCount == 0)
    }

    @Test func aSleepCancelledBeforeItStartsThrowsAtOnce() async throws {
        let timers = DeadlineTimers()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await timers.sleep(for: .seconds(60))
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(timers.waitingCount == 0)
    }

    @Test func anEarlierSleeperRearmsTheTimer() async throws {
        let timers = DeadlineTimers()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await timers.sleep(for: .seconds(60)) }
            await Self.wait(until: { timers.waitingCount >= 1 })
            try await timers.sleep(for: .milliseconds(20))
            #expect(ContinuousClock.now - start < .seconds(30), "the 20 ms sleep waited behind the minute")
            group.cancelAll()
        }
        #expect(timers.waitingCount == 0)
    }
}
