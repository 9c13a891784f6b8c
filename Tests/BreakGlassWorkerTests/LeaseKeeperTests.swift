import BreakGlassCore
import BreakGlassLedger
@testable import BreakGlassWorker
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Issue 21.2: the leases of the claims in flight are renewed by one loop (`LeaseKeeper`), not by a task and a timer per
/// claim; a flow longer than its lease keeps its claim either way, and a renewal that fails is retried.
@Suite struct LeaseKeeperTests {
    let key = PipelineFixture.key

    /// A fixture on a manual clock (the ledger's 60 s lease lapses only when the test moves the clock), renewing every
    /// 50 ms of real time, its console held before `submitting` while the clock moves 40 s, twice: 80 s in all, past
    /// the lease, each step taken only once two renewals have started since the previous one (one claim's renewals
    /// never overlap, so the first has ended). Without renewals that land, the flow finds its lease lapsed at
    /// `submitting` and halts. The first `failing` renewals fail, before the clock moves.
    private func heldFixture(failing: Int = 0) throws -> PipelineFixture {
        let clock = ManualClock()
        let f = try PipelineFixture(pipeline: { $0.leaseRenewalInterval = .milliseconds(50) }, clock: clock)
        let ledger = f.interposed
        ledger.failNextRenewals(failing)
        f.console.setPauseBeforeSubmitting { _ in
            try? await eventually("the failing renewals", timeout: .seconds(30)) { ledger.renewals >= failing }
            for _ in 0..<2 {
                let before = ledger.renewals
                try? await eventually("two more renewals", timeout: .seconds(30)) { ledger.renewals >= before + 2 }
                clock.advance(by: 40)
            }
            let before = ledger.renewals
            try? await eventually("two more renewals", timeout: .seconds(30)) { ledger.renewals >= before + 2 }
        }
        return f
    }

    /// A fixture renewing every 50 ms of real time, and a claim of the sample key taken in its ledger.
    private func claimedFixture() async throws -> (PipelineFixture, Claim) {
        let f = try PipelineFixture(pipeline: { $0.leaseRenewalInterval = .milliseconds(50) })
        let outcome = try await f.ledger.claim(key, requestID: "REQ-T-1", owner: f.workerID)
        return (f, try #require(outcome.claim))
    }

    /// Runs the keeper of `f`'s pipeline around `body`.
    private func withKeeper<T: Sendable>(
        _ f: PipelineFixture, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let leases = f.pipeline.leases
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await leases.run()
                return nil
            }
            try await eventually("the keeper runs") { leases.isRunning }
            let result = try await body()
            group.cancelAll()
            try await group.waitForAll()
            return result
        }
    }

    @Test func aFlowLongerThanItsLeaseKeepsItsClaimThroughTheKeeper() async throws {
        let f = try heldFixture()
        let leases = f.pipeline.leases
        let registered = Registered()
        f.console.setPauseBeforeClick { _ in registered.count.store(leases.count, ordering: .relaxed) }
        let result = try await withKeeper(f) { await f.deliver() }
        #expect(result.result == .granted)
        #expect(f.console.clicks(key) == 1)
        #expect(f.interposed.renewals >= 6)
        #expect(
            registered.count.load(ordering: .relaxed) == 1,
            "the flow's claim was the keeper's, not a renewal task of its own")
        #expect(leases.count == 0, "the flow's claim is no longer renewed once it ended")
        #expect(try f.entry().state == .granted)
    }

    @Test func withoutTheKeeperAFlowRenewsItsOwnLease() async throws {
        let f = try heldFixture()
        #expect(!f.pipeline.leases.isRunning)
        let result = await f.deliver()
        #expect(result.result == .granted)
        #expect(f.console.clicks(key) == 1)
        #expect(f.interposed.renewals >= 6)
        #expect(f.pipeline.leases.count == 0)
    }

    @Test func aFailedRenewalIsRetriedBeforeTheLeaseLapses() async throws {
        let f = try heldFixture(failing: 3)
        let result = try await withKeeper(f) { await f.deliver() }
        #expect(result.result == .granted, "three failed renewals, then renewed in time")
        #expect(f.interposed.renewals >= 9)
        #expect(f.console.clicks(key) == 1)
    }

    @Test func aFencedClaimIsNoLongerRenewed() async throws {
        let (f, claim) = try await claimedFixture()
        let leases = f.pipeline.leases
        let interposed = f.interposed
        try await withKeeper(f) {
            let registration = try #require(leases.register(ClaimBox(claim), logger: Logger(label: "test")))
            try await eventually("a renewal") { interposed.renewals >= 1 }
            try f.sqlite("UPDATE restorations SET epoch = epoch + 1, owner = 'w-newer'")
            try await eventually("the fenced claim dropped") { leases.count == 0 }
            leases.unregister(registration)
        }
        #expect(try f.entry().owner == "w-newer")
    }

    @Test func theKeeperStopsAtGracefulShutdownAndThenRegistersNothing() async throws {
        let f = try PipelineFixture()
        let leases = f.pipeline.leases
        let group = ServiceGroup(services: [leases], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await eventually("the keeper runs") { leases.isRunning }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(!leases.isRunning)
        #expect(leases.register(ClaimBox(try Self.someClaim(f)), logger: Logger(label: "test")) == nil)
    }

    /// At graceful shutdown the keeper goes on renewing the claims still registered, and stops once none is left.
    @Test func atGracefulShutdownTheKeeperRenewsUntilNoClaimIsLeft() async throws {
        let (f, claim) = try await claimedFixture()
        let leases = f.pipeline.leases
        let interposed = f.interposed
        let group = ServiceGroup(services: [leases], logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await eventually("the keeper runs") { leases.isRunning }
            let registration = try #require(leases.register(ClaimBox(claim), logger: Logger(label: "test")))
            await group.triggerGracefulShutdown()
            let before = interposed.renewals
            try await eventually("renewals after the shutdown began") { interposed.renewals >= before + 2 }
            #expect(leases.isRunning, "a claim in flight is still renewed")
            leases.unregister(registration)
            try await tasks.waitForAll()
        }
        #expect(!leases.isRunning)
    }

    /// A cancelled flow is no longer renewed, as its own renewal task used to stop: a flow that ignores cancellation
    /// (here: held in the console until the test lets it go) lets its lease lapse, and the key can be recovered.
    @Test func aCancelledFlowIsNoLongerRenewed() async throws {
        let f = try PipelineFixture(pipeline: { $0.leaseRenewalInterval = .milliseconds(50) })
        let hold = Hold()
        f.console.setPauseBeforeSubmitting { _ in await hold.wait() }
        let leases = f.pipeline.leases
        try await withKeeper(f) {
            await withTaskGroup(of: Void.self) { flow in
                flow.addTask { _ = await f.deliver() }
                try? await eventually("the flow's claim registered") { leases.count == 1 }
                flow.cancelAll()
                try? await eventually("the cancelled flow, still held, unregistered") { leases.count == 0 }
                hold.release()
            }
        }
        #expect(leases.count == 0)
    }

    /// Holds its waiters, whatever their cancellation, until released.
    private final class Hold: Sendable {
        private let state = Mutex<(released: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let released = state.withLock { state -> Bool in
                    if !state.released { state.waiters.append(continuation) }
                    return state.released
                }
                if released { continuation.resume() }
            }
        }

        func release() {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.released = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    private final class Registered: Sendable {
        let count = Atomic<Int>(-1)
    }

    private static func someClaim(_ f: PipelineFixture) throws -> Claim {
        Claim(
            key: PipelineFixture.key, epoch: 1, owner: f.workerID, leaseExpiresAt: Date(), state: .claimed,
            resumeCount: 0, recovery: nil)
    }
}
