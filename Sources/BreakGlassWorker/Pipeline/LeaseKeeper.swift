import BreakGlassCore
import BreakGlassLedger
import Logging
public import ServiceLifecycle
import Synchronization

/// Keeps the leases of every claim a worker has in flight, from one loop (issue 21.2): each claim's lease is renewed
/// about every third of the lease, as before, but a registered claim costs no task and no timer of its own.
///
/// A flow that renewed its own lease started a task and a sleep per claim. Swift cannot take back a cancelled sleep's
/// timer: it stays queued, with a small task, until the deadline, a third of the lease later (40 s by default). At
/// 300 halts a second that is 12,000 queued timers, paid for in the dispatch timer heap and in resident memory.
///
/// A renewal that fails for a reason other than a fence is logged and retried with backoff (the lease is still live
/// for a while); a fence or a lapsed lease stops that claim's renewals. When the loop does not run (a takeover
/// command, a test that builds a pipeline alone, or after it has stopped), `register` says so and the flow renews its
/// own lease as before.
///
/// Run it as a service before anything that holds claims (the consumer, the recovery scan): services stop in
/// reverse order, so it keeps renewing until they have drained.
public final class LeaseKeeper: Service, Sendable {
    private struct Entry {
        let box: ClaimBox
        let logger: Logger
        var due: ContinuousClock.Instant
        var failures = 0
        var renewing = false
    }

    private struct State {
        var running = false
        var nextID = 0
        var entries: [Int: Entry] = [:]
    }

    private let ledger: any Ledger
    /// How often a claim is renewed (the pipeline's default: a third of the lease).
    let renewEvery: Duration
    /// How often the loop looks for renewals due: a quarter of `renewEvery`, at most a second.
    let tick: Duration
    private let state = Mutex(State())

    init(ledger: any Ledger, renewEvery: Duration) {
        self.ledger = ledger
        self.renewEvery = renewEvery
        tick = max(min(renewEvery / 4, .seconds(1)), .milliseconds(1))
    }

    /// The claims registered now (for tests and metrics).
    var count: Int { state.withLock { $0.entries.count } }

    /// Starts renewing `box`'s claim; nil when the loop is not running, and then nothing is renewed for it.
    func register(_ box: ClaimBox, logger: Logger) -> Int? {
        let due = ContinuousClock.now + renewEvery
        return state.withLock { state -> Int? in
            guard state.running else { return nil }
            state.nextID &+= 1
            state.entries[state.nextID] = Entry(box: box, logger: logger, due: due)
            return state.nextID
        }
    }

    /// Stops renewing the claim registered as `id`. A renewal already under way still completes in the ledger (where a
    /// lease only grows, fenced by the epoch); its answer is dropped.
    func unregister(_ id: Int) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Whether the loop runs (claims registered now are renewed by it).
    public var isRunning: Bool { state.withLock { $0.running } }

    /// Renews every due claim each `tick`, until cancelled. At graceful shutdown it goes on until no claim is
    /// registered (it stops after the consumer and the recovery scan, whose flows have ended or been cancelled by
    /// then; a cancelled flow unregisters at once), so no flow in flight loses its renewals.
    public func run() async throws {
        state.withLock { $0.running = true }
        defer { state.withLock { $0.running = false } }
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                if Task.isShuttingDownGracefully {
                    let stopped = state.withLock { state -> Bool in
                        guard state.entries.isEmpty else { return false }
                        state.running = false
                        return true
                    }
                    if stopped { break }
                }
                do {
                    if Task.isShuttingDownGracefully {
                        try await Task.sleep(for: tick)
                    } else {
                        // Woken early by a graceful shutdown, to stop at once when nothing is registered.
                        try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.tick) }
                    }
                } catch {
                    if Task.isCancelled { break }
                    continue
                }
                let now = ContinuousClock.now
                let due = state.withLock { state -> [(Int, Entry)] in
                    var due: [(Int, Entry)] = []
                    for (id, entry) in state.entries where !entry.renewing && entry.due <= now {
                        state.entries[id]?.renewing = true
                        due.append((id, entry))
                    }
                    return due
                }
                for (id, entry) in due {
                    group.addTask { await self.renew(id, entry) }
                }
            }
        }
    }

    /// What a renewal leaves to do: renew again after a delay, with the failures so far, or stop.
    enum Next: Equatable {
        case again(after: Duration, failures: Int)
        case stop
    }

    /// One renewal of `box`'s claim, logged, for the loop and for a flow that renews alone. The answer is kept unless
    /// the claim changed meanwhile; a fence or a lapsed lease stops the claim's renewals; any other failure is retried
    /// with backoff (the lease is still live for a while).
    func renewOnce(_ box: ClaimBox, failures: Int, logger log: Logger) async -> Next {
        let current = box.withLock { $0 }
        do {
            box.replace(current, with: try await ledger.renew(current))
            if failures > 0 {
                log.notice(
                    "lease renewal works again", metadata: ["breakglass.failures": .stringConvertible(failures)])
            }
            return .again(after: renewEvery, failures: 0)
        } catch let error as LedgerError where error.code == .fenced {
            log.warning("lease renewal fenced: a newer owner holds the key")
            return .stop
        } catch let error as LedgerError where error.code == .leaseLapsed {
            // Never revived: the key may be someone else's now. The flow's own writes are fenced and its click
            // refused; a person sees the key through the takeover record whoever ends it.
            log.warning("lease renewal refused: the lease lapsed before it could be renewed")
            return .stop
        } catch {
            let failures = failures + 1
            log.warning(
                "lease renewal failed; retrying",
                metadata: [
                    "breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")",
                    "breakglass.failures": .stringConvertible(failures),
                ])
            return .again(after: min(renewEvery, .milliseconds(250) * (1 << min(failures, 6))), failures: failures)
        }
    }

    /// The loop's renewal of the claim registered as `id`, and when its next one is due.
    private func renew(_ id: Int, _ entry: Entry) async {
        let next = await renewOnce(entry.box, failures: entry.failures, logger: entry.logger)
        let now = ContinuousClock.now
        state.withLock { state in
            guard state.entries[id] != nil else { return }
            switch next {
            case .stop:
                state.entries[id] = nil
            case .again(let delay, let failures):
                state.entries[id]?.renewing = false
                state.entries[id]?.failures = failures
                state.entries[id]?.due = now + delay
            }
        }
    }
}
