import Foundation

extension OutboxRelay {
    /// Publishes what is pending until the outbox is drained, a publish fails, or `deadline` passes: the last
    /// step of a graceful shutdown, and how a takeover command publishes its own events. Whatever is left stays in
    /// the outbox for the next relay (never lost). Returns true when the outbox was drained.
    ///
    /// The relay lease this flush takes is released before it returns (a stopped worker leaves no lease behind for
    /// others to wait out). `waitForLeaseHolder`: while another process's relay holds a live lease, wait (until
    /// `deadline`) for it to publish everything pending, or for the lease to lapse or be released and take it;
    /// without it, a held lease ends the flush at once.
    public func flush(deadline: Duration, waitForLeaseHolder: Bool = false) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: deadline)
        var drained = false
        loop: while clock.now < end {
            switch await round() {
            case .more: continue
            case .drained:
                drained = true
                break loop
            case .failed:
                break loop
            case .standby:
                guard waitForLeaseHolder else { break loop }
                if (try? await ledger.pendingEvents(limit: 1).isEmpty) == true {
                    drained = true
                    break loop
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await releaseLease()
        return drained
    }

    /// Gives the relay lease up if this relay holds it.
    func releaseLease() async {
        leaseUntil.until.withLock { $0 = nil }
        try? await ledger.releaseRelayLease(owner: configuration.owner)
    }
}
