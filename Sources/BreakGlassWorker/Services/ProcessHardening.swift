import CProcessHardening
#if canImport(Glibc)
    import Glibc
#endif

/// What every `breakglass` command does first, before it reads a secret (issue 16.5, 16.6): files and folders it
/// creates are owner-only (umask 077: the ledger holds raw payloads with person ids, evidence holds what the console
/// showed), and the process leaves no core dump (RLIMIT_CORE 0, not dumpable: a crash must not write the console
/// password, the source token or the evidence seed to disk, and other processes of the same user cannot attach).
public enum ProcessHardening {
    /// Applies both; returns a problem to report (never a secret), or nil.
    @discardableResult
    public static func apply() -> String? {
        umask(0o077)
        let failure = bg_disable_core_dumps()
        return failure == 0 ? nil : "core dumps could not be disabled (errno \(failure))"
    }

    /// Whether the process may dump core (for tests and `doctor`-style checks).
    public static var isDumpable: Bool { bg_is_dumpable() != 0 }

    /// The current umask, read without changing it.
    public static var currentUmask: UInt32 {
        let previous = umask(0o077)
        umask(previous)
        return UInt32(previous)
    }
}
