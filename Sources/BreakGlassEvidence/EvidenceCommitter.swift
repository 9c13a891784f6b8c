import Dispatch
import Synchronization

/// Group commit of evidence bundles (issue 21): a burst of halts used to cost about ten fsyncs per bundle, each on
/// the cooperative pool. Bundles handed to `commit` queue up; one serial dispatch queue (its own thread, never the
/// cooperative pool) takes everything queued, writes it, makes it durable with one `syncfs`, renames each bundle into
/// place, fsyncs the root once, and resumes every waiter. The first bundle of a quiet period waits for nothing but
/// its own write; under load, a batch forms while the previous one syncs.
final class EvidenceCommitter: Sendable {
    private struct Job: Sendable {
        let bundle: EvidenceBundle
        let continuation: CheckedContinuation<Result<EvidenceLocation, EvidenceError>, Never>
    }

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    /// The most bundles one sync covers.
    let maximumBatch: Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "breakglass.evidence.commit", qos: .userInitiated)

    init(maximumBatch: Int = 128) {
        self.maximumBatch = max(1, maximumBatch)
    }

    func commit(_ bundle: EvidenceBundle, store: EvidenceStore) async -> Result<EvidenceLocation, EvidenceError> {
        await withCheckedContinuation { continuation in
            let start = state.withLock { state -> Bool in
                state.pending.append(Job(bundle: bundle, continuation: continuation))
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if start { queue.async { self.drain(store) } }
        }
    }

    /// On the queue: batches until nothing is pending.
    private func drain(_ store: EvidenceStore) {
        while true {
            let batch = state.withLock { state -> [Job] in
                let batch = Array(state.pending.prefix(maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let results = store.writeBatch(batch.map(\.bundle))
            for (job, result) in zip(batch, results) { job.continuation.resume(returning: result) }
        }
    }
}
