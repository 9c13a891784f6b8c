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
                let due = state.withLock { state -> [(Int, ClaimBox)] in
                    var due: [(Int, ClaimBox)] = []
                    for (id, entry) in state.entries where !entry.renewing && entry.due <= now {
                        state.entries[id]?.renewing = true
                        due.append((id, entry.box))
                    }
                    return due
                }
                for (id, box) in due {
                    group.addTask { await self.renew(id, box) }
                }
            }
        }
    }

    /// One renewal of the claim registered as `id`, and when the next one is due.
    private func renew(_ id: Int, _ box: ClaimBox) async {
        let outcome: Result<Claim, any Error>
        let current = box.withLock { $0 }
        do {
            outcome = .success(try await ledger.renew(current))
        } catch {
            outcome = .failure(error)
        }
        let next = ContinuousClock.now
        let renewEvery = self.renewEvery
        let report = state.withLock { state -> (Logger, Int, Bool)? in
            guard var entry = state.entries[id] else { return nil }
            entry.renewing = false
            switch outcome {
            case .success(let renewed):
                box.replace(current, with: renewed)
                let failures = entry.failures
                entry.failures = 0
                entry.due = next + renewEvery
                state.entries[id] = entry
                return (entry.logger, failures, true)
            case .failure(let error as LedgerError) where error.code == .fenced || error.code == .leaseLapsed:
                state.entries[id] = nil
                return (entry.logger, entry.failures, false)
            case .failure:
                entry.failures += 1
                entry.due = next + min(renewEvery, .milliseconds(250) * (1 << min(entry.failures, 6)))
                state.entries[id] = entry
                return (entry.logger, entry.failures, false)
            }
        }
        guard let (log, failures, renewed) = report else { return }
        switch outcome {
        case .success:
            if renewed, failures > 0 {
                log.notice(
                    "lease renewal works again", metadata: ["breakglass.failures": .stringConvertible(failures)])
            }
        case .failure(let error as LedgerError) where error.code == .fenced:
            log.warning("lease renewal fenced: a newer owner holds the key")
        case .failure(let error as LedgerError) where error.code == .leaseLapsed:
            // Never revived: the key may be someone else's now. The flow's own writes are fenced and its click
            // refused; a person sees the key through the takeover record whoever ends it.
            log.warning("lease renewal refused: the lease lapsed before it could be renewed")
        case .failure(let error):
            log.warning(
                "lease renewal failed; retrying",
                metadata: [
                    "breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")",
                    "breakglass.failures": .stringConvertible(failures),
                ])
        }
    }
}
