import Dispatch
import Synchronization

/// Sleeps that leave nothing behind when cancelled (issue 21), for the deadlines a request sets and nearly always
/// cancels: the gate's deadline, a source call's body deadline, a flow's lease renewal.
///
/// `Task.sleep` cannot take back its timer: a cancelled sleep stays queued in the runtime, with a small task of its
/// own, until its deadline. At 300 gate halts a second, the gate's 20 s deadline alone kept 6,000 such timers queued,
/// each about a kilobyte of resident memory, and every one was a heap operation in the dispatch timer queue. Here a
/// sleeping task is a continuation in a dictionary and an entry in one heap, both dropped at once on cancellation;
/// one dispatch timer, armed for the earliest deadline, wakes the due sleepers.
public final class DeadlineTimers: Sendable {
    /// The process's timers (one dispatch queue, one timer).
    public static let shared = DeadlineTimers()

    private struct Sleeper {
        let continuation: UnsafeContinuation<Bool, Never>
        let deadline: ContinuousClock.Instant
    }

    private struct State: ~Copyable {
        var heap = TimerHeap()
        /// Sleepers by id: resumed with true when their deadline passes, false when cancelled.
        var waiting: [UInt64: Sleeper] = [:]
        /// Ids cancelled before their continuation was registered.
        var cancelledEarly: Set<UInt64> = []
        var nextID: UInt64 = 0
        /// The deadline the dispatch timer is armed for, nil when disarmed.
        var armedFor: ContinuousClock.Instant?
        let timer: any DispatchSourceTimer
    }

    private let state: Mutex<State>

    init() {
        state = Mutex(
            State(timer: DispatchSource.makeTimerSource(queue: DispatchQueue(label: "breakglass.deadline-timers"))))
        state.withLock { state in
            state.timer.setEventHandler { [weak self] in self?.fire() }
            state.timer.activate()
        }
    }

    deinit {
        state.withLock { state in
            state.timer.setEventHandler(handler: nil)
            state.timer.cancel()
        }
    }

    /// How many sleepers wait now (for tests and metrics).
    public var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// How many heap entries are kept, cancelled ones included until they reach the top (for tests).
    var heapCount: Int { state.withLock { $0.heap.count } }

    /// Sleeps until `deadline`. Throws `CancellationError` as soon as the task is cancelled, leaving nothing queued.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        let fired = await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Bool, Never>) in
                let answer = state.withLock { state -> Bool? in
                    if state.cancelledEarly.remove(id) != nil { return false }
                    if deadline <= .now { return true }
                    state.waiting[id] = Sleeper(continuation: continuation, deadline: deadline)
                    state.heap.insert(deadline, id: id)
                    Self.arm(&state)
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let continuation = state.withLock { state -> UnsafeContinuation<Bool, Never>? in
                guard let sleeper = state.waiting.removeValue(forKey: id) else {
                    state.cancelledEarly.insert(id)
                    return nil
                }
                // Its heap entry is dropped when it reaches the top (now, if it is the top); when cancelled entries
                // behind a long sleep outnumber the sleepers four to one, the heap is rebuilt from the sleepers.
                Self.dropCancelledTop(&state)
                if state.heap.count > 1_024, state.heap.count > 4 * state.waiting.count {
                    var heap = TimerHeap()
                    for (id, sleeper) in state.waiting { heap.insert(sleeper.deadline, id: id) }
                    state.heap = heap
                }
                return sleeper.continuation
            }
            continuation?.resume(returning: false)
        }
        // A cancellation that came after the wake (or after the registration took it) left its id behind.
        state.withLock { _ = $0.cancelledEarly.remove(id) }
        if !fired { throw CancellationError() }
    }

    /// Sleeps for `duration` (see `sleep(until:)`).
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: .now.advanced(by: duration))
    }

    /// The dispatch timer fired: wake every sleeper whose deadline passed, re-arm for the next.
    private func fire() {
        let due = state.withLock { state -> [UnsafeContinuation<Bool, Never>] in
            state.armedFor = nil
            let now = ContinuousClock.now
            var due: [UnsafeContinuation<Bool, Never>] = []
            while let top = state.heap.first, top.deadline <= now {
                state.heap.popFirst()
                if let sleeper = state.waiting.removeValue(forKey: top.id) { due.append(sleeper.continuation) }
            }
            Self.arm(&state)
            return due
        }
        for continuation in due { continuation.resume(returning: true) }
    }

    /// Drops cancelled entries from the top, then arms the timer for the earliest deadline left (or disarms it).
    private static func arm(_ state: inout State) {
        dropCancelledTop(&state)
        guard let next = state.heap.first?.deadline else {
            if state.armedFor != nil {
                state.timer.schedule(deadline: .distantFuture)
                state.armedFor = nil
            }
            return
        }
        if let armed = state.armedFor, armed <= next { return }
        // At most a second ahead: the dispatch timer counts uptime, which stops while the host is suspended, and
        // the deadlines count boot time, which does not; a sleeper wakes at most a second late after a suspend.
        let now = ContinuousClock.now
        let wait = min(now.duration(to: next), .seconds(1))
        let (seconds, attoseconds) = wait.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds / 1_000_000_000)
        state.timer.schedule(deadline: .now() + .nanoseconds(Int(nanoseconds)), leeway: .milliseconds(1))
        state.armedFor = now.advanced(by: wait)
    }

    private static func dropCancelledTop(_ state: inout State) {
        while let top = state.heap.first, state.waiting[top.id] == nil { state.heap.popFirst() }
    }
}
