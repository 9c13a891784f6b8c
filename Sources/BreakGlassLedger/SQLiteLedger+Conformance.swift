/// `SQLiteLedger` as the `Ledger` seam: its synchronous reads answer the protocol's async requirements.
extension SQLiteLedger: Ledger {
    public var leaseDuration: Duration { configuration.leaseDuration }
    public var maximumResumes: Int { configuration.maximumResumes }
    public var location: String { configuration.path }
    public var backend: String { "sqlite" }

    /// Durable (WAL, synchronous=FULL) and really taking writes (`writeProbe(probeBytes:)`).
    public func writeProbe() async -> (ok: Bool, detail: String) {
        guard let durability = try? durability() else { return (false, "unreadable") }
        guard durability.journalMode.lowercased() == "wal", durability.synchronous == 2 else {
            return (false, "not durable")
        }
        let probe = writeProbe(probeBytes: 64 * 1024)
        guard probe.ok else { return (false, "not writable: \(probe.detail)") }
        return (true, "writable, WAL, synchronous=FULL")
    }

    public func shutdown() async {}
}
