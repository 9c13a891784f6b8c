import BreakGlassCore
import Synchronization
import Testing

@Suite("Crash points", .serialized)
struct CrashPointTests {
    @Test("Parses <point> and <point>@<n>; refuses anything else")
    func parsing() {
        #expect(CrashPoint.Arming(parsing: "after-click")?.point == .afterClick)
        #expect(CrashPoint.Arming(parsing: "after-click")?.hit == 1)
        #expect(CrashPoint.Arming(parsing: "before-click@3")?.hit == 3)
        for bad in ["", "after", "after-click@0", "after-click@-1", "after-click@x", "AFTER-CLICK", "after-click@"] {
            #expect(CrashPoint.Arming(parsing: bad) == nil, "\(bad)")
        }
        #expect(CrashPoint.allCases.map(\.rawValue) == [
            "after-claim", "after-gate", "before-click", "after-click", "after-confirmation", "after-decision",
            "after-ack", "after-publish",
        ])
    }

    @Test("Only the armed point, only on its n-th hit, calls the handler")
    func firesOnTheChosenHit() throws {
        let calls = Mutex<[CrashPoint]>([])
        let arming = try #require(CrashPoint.Arming(parsing: "after-gate@2"))
        CrashPoint.arm(arming) { point in calls.withLock { $0.append(point) } }
        defer { CrashPoint.disarm() }
        CrashPoint.reach(.afterClaim)
        CrashPoint.reach(.afterGate)
        #expect(calls.withLock { $0 }.isEmpty)
        CrashPoint.reach(.afterGate)
        #expect(calls.withLock { $0 } == [.afterGate])
        CrashPoint.reach(.afterGate)
        #expect(calls.withLock { $0 } == [.afterGate])
        #expect(CrashPoint.current == .afterGate)
    }

    @Test("Disarmed, nothing happens")
    func disarmed() {
        CrashPoint.disarm()
        #expect(CrashPoint.current == nil)
        for point in CrashPoint.allCases { CrashPoint.reach(point) }
    }
}
