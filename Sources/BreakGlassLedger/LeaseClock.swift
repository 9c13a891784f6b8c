public import Foundation
import GRDB
#if canImport(Glibc)
    import Glibc
#endif

/// The one clock every process of a ledger judges leases by (issue 15.10).
///
/// Each process's wall clock used to decide whether a lease had lapsed, so a forward step of the system clock
/// (an NTP correction, an operator's `date -s`) expired every lease at once, and two processes whose clocks
/// disagreed judged the same lease differently. With SQLite on one host the ledger now uses the kernel's boot
/// clock (`CLOCK_BOOTTIME`: monotonic, counts suspend, never stepped), anchored once per boot in the ledger file:
/// the first process of a boot writes (boot id, wall time, boot time) into `clock_anchor`; every process of that boot
/// reads the same row and tells time as `anchor wall + (boot now − anchor boot)`. All of them agree to the
/// microsecond, whatever their wall clocks say, and the values stay close to real time (they are what `ledger show`
/// prints). After a reboot a new anchor is written: leases of the previous boot are judged against it.
///
/// (The PostgreSQL ledger of issue 17 will use the database server's `clock_timestamp()` instead.)
public struct LeaseClock: Sendable {
    /// Where a clock reads its parts; tests inject their own.
    public struct Source: Sendable {
        public var wall: @Sendable () -> Date
        public var boot: @Sendable () -> Double
        public var bootID: @Sendable () -> String

        public init(
            wall: @escaping @Sendable () -> Date, boot: @escaping @Sendable () -> Double,
            bootID: @escaping @Sendable () -> String
        ) {
            self.wall = wall
            self.boot = boot
            self.bootID = bootID
        }

        /// `CLOCK_BOOTTIME` and `/proc/sys/kernel/random/boot_id`.
        public static let system = Source(
            wall: { Date() },
            boot: {
                var spec = timespec()
                clock_gettime(CLOCK_BOOTTIME, &spec)
                return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
            },
            bootID: {
                let text =
                    (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "unknown-boot"
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            })
    }

    public let bootID: String
    public let anchorWall: Double
    public let anchorBoot: Double
    let boot: @Sendable () -> Double

    /// Now, by this ledger's clock.
    public func now() -> Date { Date(timeIntervalSince1970: anchorWall + (boot() - anchorBoot)) }

    /// Reads (or, first in this boot, writes) the anchor of the current boot.
    static func anchored(in writer: some DatabaseWriter, source: Source) throws -> LeaseClock {
        let bootID = source.bootID()
        let (wall, boot) = try writer.write { db -> (Double, Double) in
            try db.execute(
                sql: "INSERT OR IGNORE INTO clock_anchor (boot_id, wall, boot) VALUES (?, ?, ?)",
                arguments: [bootID, source.wall().timeIntervalSince1970, source.boot()])
            let row = try Row.fetchOne(
                db, sql: "SELECT wall, boot FROM clock_anchor WHERE boot_id = ?", arguments: [bootID])
            return (row?["wall"] ?? source.wall().timeIntervalSince1970, row?["boot"] ?? source.boot())
        }
        return LeaseClock(bootID: bootID, anchorWall: wall, anchorBoot: boot, boot: source.boot)
    }
}
