import BreakGlassCore
import Synchronization
import Testing

@Suite("Crash points")
struct CrashPointTests {
    @Test("Parses <point> and <point>@<n>; refuses anything else")
    func parsing() {
        #expect(CrashPoint.Arming(parsing: "after-click")?.point == .afterClick)
        #expect(CrashPoint.Arming(parsing: "after-click")?.hit == 1)
        #expect(CrashPoint.Arming(parsing: "before-click@3")?.hit == 3)
        for bad in ["", "after", "after-click@0", "after-click@-1", "after-click@x", "AFTER-CLICK", "after-click@"] {
            #expect(CrashPoint.Arming(parsing: bad) == nil, "\(bad)")
        }
        #expect(
            CrashPoint.allCases.map(\.rawValue) == [
                "after-claim", "after-gate", "before-click", "after-click", "after-confirmation", "after-decision",
                "after-ack", "after-publish",
            ])
    }

    @Test("Only the armed point, only on its n-th hit, calls the handler")
    func firesOnTheChosenHit() throws {
        let calls = Mutex<[CrashPoint]>([])
        let arming = try #require(CrashPoint.Arming(parsing: "after-gate@2"))
        // A trigger of its own: the process-wide one is shared with every other test in this process.
        let trigger = CrashPoint.Trigger()
        trigger.arm(arming) { point in calls.withLock { $0.append(point) } }
        trigger.reach(.afterClaim)
        trigger.reach(.afterGate)
        #expect(calls.withLock { $0 }.isEmpty)
        trigger.reach(.afterGate)
        #expect(calls.withLock { $0 } == [.afterGate])
        trigger.reach(.afterGate)
        #expect(calls.withLock { $0 } == [.afterGate])
        #expect(trigger.current == .afterGate)
        trigger.disarm()
        #expect(trigger.current == nil)
    }

    @Test("The process-wide trigger is disarmed unless the worker arms it")
    func disarmedByDefault() {
        #expect(CrashPoint.current == nil)
        for point in CrashPoint.allCases { CrashPoint.reach(point) }  // nothing happens
    }
}
