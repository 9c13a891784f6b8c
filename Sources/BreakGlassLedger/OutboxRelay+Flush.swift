import Foundation

extension OutboxRelay {
    /// Publishes what is pending until the outbox is drained, a publish fails, or `deadline` passes: the last
    /// step of a graceful shutdown. Whatever is left stays in the outbox for the next relay (never lost).
    /// Returns true when the outbox was drained.
    public func flush(deadline: Duration) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        while clock.now < end {
            switch await round() {
            case .more: continue
            case .drained: return true
            case .standby, .failed: return false
            }
        }
        return false
    }
}
