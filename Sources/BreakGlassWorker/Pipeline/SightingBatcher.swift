import BreakGlassCore
import BreakGlassLedger
import Synchronization

/// Sightings of duplicate copies, written in batches (issue 21): a redelivery storm of decided keys costs one ledger
/// write per batch instead of one durable write per copy.
///
/// The first copy to arrive while no write is under way becomes the writer: it writes everything pending, then what
/// arrived meanwhile, up to `maximumRounds` writes, and returns; the copies that arrived during its writes return at
/// once (their tallies ride in its next write). What is left after the last round is taken by the next copy, or by
/// `flush()` when the consumer stops. A crash loses the counts of copies acked since the last write, never a
/// decision: the decision a duplicate is answered from is durable before the duplicate is seen.
final class SightingBatcher: Sendable {
    private struct Pending: Hashable {
        let key: RestorationKey
        let requestID: String
    }

    private struct State {
        var pending: [Pending: Int] = [:]
        var writing = false
    }

    private let ledger: any Ledger
    private let maximumRounds: Int
    /// How long a write owed by `tally` waits for more copies first.
    private let gatherWindow: Duration
    private let state = Mutex(State())

    init(ledger: any Ledger, maximumRounds: Int = 8, gatherWindow: Duration = .milliseconds(100)) {
        self.ledger = ledger
        self.maximumRounds = max(1, maximumRounds)
        self.gatherWindow = gatherWindow
    }

    /// Counts one copy of `requestID` for `key`; writes when no other copy is writing.
    func record(_ key: RestorationKey, requestID: String) async throws {
        guard tally(key, requestID: requestID) else { return }
        try await writeRounds(maximumRounds)
    }

    /// Counts one copy without writing; true when no write is under way, and the caller must then call `writeDue()`
    /// (it has become the writer).
    func tally(_ key: RestorationKey, requestID: String) -> Bool {
        state.withLock { state -> Bool in
            state.pending[Pending(key: key, requestID: requestID), default: 0] += 1
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
    }

    /// The write a `tally` that returned true owes: after `gatherWindow` (the copies counted meanwhile ride in the same
    /// write, so a redelivery storm costs about ten durable writes a second, not one per batch of copies the consumer
    /// happened to read). Cancelled (the consumer is stopping), it writes at once.
    func writeDue() async throws {
        try? await Task.sleep(for: gatherWindow)
        try await writeRounds(maximumRounds)
    }

    /// Writes everything pending (the consumer's drain calls it before the ledger closes); waits for a write
    /// under way first.
    func flush() async throws {
        while true {
            let writer = state.withLock { state -> Bool? in
                if state.writing { return false }
                if state.pending.isEmpty { return nil }
                state.writing = true
                return true
            }
            switch writer {
            case nil: return
            case true?: try await writeRounds(Int.max)
            case false?: try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Called with `writing` set by the caller; clears it before returning or throwing.
    private func writeRounds(_ rounds: Int) async throws {
        var round = 0
        while true {
            let batch = state.withLock { state -> [Pending: Int]? in
                // Past its rounds, this copy has waited long enough: the next copy (or `flush`) takes the rest.
                guard !state.pending.isEmpty, round < rounds else {
                    state.writing = false
                    return nil
                }
                defer { state.pending = [:] }
                return state.pending
            }
            guard let batch else { return }
            round += 1
            do {
                try await ledger.recordSightings(
                    batch.map { SightingTally(key: $0.key.key, requestID: $0.key.requestID, copies: $0.value) })
            } catch {
                state.withLock { state in
                    state.pending.merge(batch, uniquingKeysWith: +)
                    state.writing = false
                }
                throw error
            }
        }
    }
}
