public import BreakGlassCore

extension SQLiteLedger {
    /// Writes events to the outbox on their own, durably, for outcomes that belong to no ledger row: a message
    /// rejected before its key could be trusted (signature, schema), or a rejected replay of a key that other
    /// work owns. Every message still ends in exactly one published outcome.
    public func enqueueEvents(_ events: [OutboxMessage]) async throws {
        guard !events.isEmpty else { return }
        let clock = self.clock
        try await write(nil) { db in try Self.insertEvents(db, events, at: clock()) }
        doorbell.ring()
    }
}
