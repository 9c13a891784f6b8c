import GRDB
import Synchronization

/// Group commit: concurrent writes of one process share one `BEGIN IMMEDIATE … COMMIT` and therefore one fsync.
///
/// Each operation runs in its own SAVEPOINT, so one failing operation is rolled back alone. Every caller is
/// answered only AFTER the COMMIT returned: an acknowledgement always means "durable" (synchronous = FULL).
/// There is no background task: the first caller that finds nobody draining becomes the leader and drains the
/// queue (its own operation included) until it is empty.
final class WriteBatcher: Sendable {
    typealias Operation = @Sendable (Database) throws -> any Sendable

    private struct Entry: Sendable {
        let operation: Operation
        let slot: Slot
    }

    private struct State {
        var queue: [Entry] = []
        var draining = false
        var transactions = 0
        var operations = 0
    }

    /// Transactions committed and operations they carried, since opening (operations / transactions = the
    /// average group-commit batch).
    var statistics: (transactions: Int, operations: Int) {
        state.withLock { ($0.transactions, $0.operations) }
    }

    private let pool: DatabasePool
    private let maximumBatchSize: Int
    private let state = Mutex(State())

    init(pool: DatabasePool, maximumBatchSize: Int) {
        self.pool = pool
        self.maximumBatchSize = max(1, maximumBatchSize)
    }

    /// Runs `operation` inside a write transaction shared with other concurrent writers; returns after COMMIT.
    func write<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let slot = Slot()
        let entry = Entry(operation: { try operation($0) }, slot: slot)
        let leads = state.withLock { state in
            state.queue.append(entry)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if leads { await drain() }
        // The operation's own closure produced the value, so the cast cannot fail.
        return try await slot.value() as! T
    }

    private func drain() async {
        var first = true
        while true {
            // Before a follow-up batch, let the writers just answered queue their next write: bigger batches,
            // fewer fsyncs. (The first batch goes at once: nobody waits longer than needed when idle.)
            if !first { await Task.yield() }
            first = false
            let batch: [Entry] = state.withLock { state in
                guard !state.queue.isEmpty else {
                    state.draining = false
                    return []
                }
                let count = min(state.queue.count, maximumBatchSize)
                state.transactions += 1
                state.operations += count
                let batch = Array(state.queue.prefix(count))
                state.queue.removeFirst(count)
                return batch
            }
            if batch.isEmpty { return }
            await run(batch)
        }
    }

    private func run(_ batch: [Entry]) async {
        let pool = self.pool
        // The callback API is not cancelled with the leader's task: other callers' operations are in the batch.
        let outcome: Result<[Result<any Sendable, any Error>], any Error> = await withCheckedContinuation {
            continuation in
            pool.asyncWriteWithoutTransaction { db in
                do {
                    var results: [Result<any Sendable, any Error>] = []
                    results.reserveCapacity(batch.count)
                    try db.inTransaction(.immediate) {
                        for entry in batch {
                            if batch.count == 1 {
                                // No savepoint needed: a failure rolls the whole (single) transaction back.
                                do {
                                    results.append(.success(try entry.operation(db)))
                                } catch {
                                    results.append(.failure(error))
                                    return .rollback
                                }
                                continue
                            }
                            var value: (any Sendable)?
                            do {
                                try db.inSavepoint {
                                    value = try entry.operation(db)
                                    return .commit
                                }
                                results.append(.success(value!))
                            } catch {
                                results.append(.failure(error))
                            }
                        }
                        return .commit
                    }
                    continuation.resume(returning: .success(results))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        switch outcome {
        case .success(let results):
            for (entry, result) in zip(batch, results) { entry.slot.complete(result) }
        case .failure(let error):
            for entry in batch { entry.slot.complete(.failure(error)) }
        }
    }
}

extension WriteBatcher {
    /// A one-shot result that a caller awaits and the leader completes.
    final class Slot: Sendable {
        private enum State {
            case pending
            case waiting(CheckedContinuation<any Sendable, any Error>)
            case done(Result<any Sendable, any Error>)
        }

        private let state = Mutex(State.pending)

        func complete(_ result: Result<any Sendable, any Error>) {
            let waiter: CheckedContinuation<any Sendable, any Error>? = state.withLock { state in
                switch state {
                case .waiting(let continuation):
                    state = .done(result)
                    return continuation
                case .pending:
                    state = .done(result)
                    return nil
                case .done:
                    return nil
                }
            }
            waiter?.resume(with: result)
        }

        func value() async throws -> any Sendable {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<any Sendable, any Error>? = state.withLock { state in
                    switch state {
                    case .done(let result):
                        return result
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .waiting:
                        preconditionFailure("a write slot has one reader")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}
