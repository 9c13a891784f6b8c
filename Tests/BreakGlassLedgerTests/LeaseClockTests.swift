import BreakGlassCore
import BreakGlassLedger
import Foundation
import Synchronization
import Testing

/// Issue 15.10: leases are judged by one clock for every process of a ledger, never by each process's wall clock.
@Suite struct LeaseClockTests {
    /// A boot clock and a wall clock the test moves by hand.
    final class Host: Sendable {
        let boot = Mutex(5_000.0)
        let wallOffset = Mutex(0.0)
        let bootID: String
        init(bootID: String = "boot-A") { self.bootID = bootID }

        var source: LeaseClock.Source {
            LeaseClock.Source(
                wall: { Date().addingTimeInterval(self.wallOffset.withLock { $0 }) },
                boot: { self.boot.withLock { $0 } },
                bootID: { self.bootID })
        }
    }

    func open(_ fixture: LedgerFixture, _ source: LeaseClock.Source) throws -> SQLiteLedger {
        var configuration = SQLiteLedger.Configuration(path: fixture.path)
        configuration.leaseDuration = .seconds(60)
        configuration.clockSource = source
        return try SQLiteLedger(configuration: configuration)
    }

    @Test func aWallClockStepNeitherExpiresNorStealsALiveLease() async throws {
        let fixture = try LedgerFixture("lease-clock")
        defer { fixture.remove() }
        let host = Host()
        let first = try open(fixture, host.source)
        let claim = try await first.claim(key(1), requestID: "REQ-1", owner: "w-first").requireClaim()

        // The system clock jumps an hour forward; a process started after the jump opens the same ledger.
        host.wallOffset.withLock { $0 = 3600 }
        let second = try open(fixture, host.source)
        #expect(abs(second.clock().timeIntervalSince(first.clock())) < 0.001, "both processes tell the same lease time")
        guard case .inProgress(let owner, _) = try await second.claim(key(1), requestID: "REQ-1", owner: "w-second")
        else {
            Issue.record("a live lease was taken over after a wall-clock step")
            return
        }
        #expect(owner == "w-first")
        // And the first process's own writes still see a live lease.
        _ = try await first.renew(claim)

        // Only the boot clock moving past the lease ends it.
        host.boot.withLock { $0 += 61 }
        let taken = try await second.claim(key(1), requestID: "REQ-1", owner: "w-second").requireClaim()
        #expect(taken.epoch == 2)
    }

    @Test func aNewBootWritesANewAnchorAndStaysNearRealTime() throws {
        let fixture = try LedgerFixture("lease-clock-boot")
        defer { fixture.remove() }
        let first = try open(fixture, Host(bootID: "boot-A").source)
        let second = try open(fixture, Host(bootID: "boot-B").source)
        #expect(first.leaseClock?.bootID == "boot-A")
        #expect(second.leaseClock?.bootID == "boot-B")
        #expect(abs(second.clock().timeIntervalSinceNow) < 5)
    }

    @Test func theSystemSourceReadsTheBootClockAndBootID() throws {
        let fixture = try LedgerFixture("lease-clock-system")
        defer { fixture.remove() }
        let ledger = try SQLiteLedger(configuration: .init(path: fixture.path))
        let clock = try #require(ledger.leaseClock)
        #expect(clock.bootID.count >= 32, "boot id \(clock.bootID)")
        #expect(abs(ledger.clock().timeIntervalSinceNow) < 5)
        let a = ledger.clock()
        let b = ledger.clock()
        #expect(b >= a, "monotonic")
    }
}
