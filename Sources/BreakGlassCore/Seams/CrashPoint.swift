import Synchronization

/// Named places where a chaos run can make the worker die at once (SIGKILL, no cleanup), to prove that a crash
/// anywhere in a restoration loses nothing and grants nothing twice (issue 9).
///
/// Disarmed by default, and then `reach` is one relaxed atomic load. The worker arms a point only in test builds
/// or with an explicit flag (`breakglass run --enable-crash-points`), from `BREAKGLASS_CRASH_AT=<point>[@<n>]`: the
/// n-th time (default the first) the point is reached, the installed handler kills the process. Core does no I/O:
/// the handler comes from the caller.
public enum CrashPoint: String, CaseIterable, Sendable {
    /// The ledger claim is durable; nothing else has happened.
    case afterClaim = "after-claim"
    /// The gate passed and `gated` is durable; the console has not been opened.
    case afterGate = "after-gate"
    /// `submitting` is durable and the pre-submit recheck passed; the final click has not happened.
    case beforeClick = "before-click"
    /// The final click has been sent; no confirmation read yet.
    case afterClick = "after-click"
    /// The confirmation page was read; the grant is not verified in IAM nor recorded.
    case afterConfirmation = "after-confirmation"
    /// The decision and its events are durable in the ledger; the delivery is not acked.
    case afterDecision = "after-decision"
    /// The delivery was acked (handed to the connection thread).
    case afterAck = "after-ack"
    /// The broker confirmed an outbox event; the ledger has not marked it published.
    case afterPublish = "after-publish"

    /// The environment variable a chaos run sets: `<point>` or `<point>@<n>`.
    public static let environmentVariable = "BREAKGLASS_CRASH_AT"

    /// An armed point: which, on which hit, and what to do then.
    public struct Arming: Sendable {
        public let point: CrashPoint
        public let hit: Int

        /// Parses `<point>` or `<point>@<n>` (n ≥ 1); `nil` for anything else.
        public init?(parsing text: String) {
            let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let first = parts.first, let point = CrashPoint(rawValue: first) else { return nil }
            var hit = 1
            if parts.count == 2 {
                guard let n = Int(parts[1]), n >= 1 else { return nil }
                hit = n
            }
            self.point = point
            self.hit = hit
        }
    }

    /// One armed-or-not switch. The process uses `Trigger.shared` (what `arm`, `reach` and `current` act on);
    /// tests use their own.
    public final class Trigger: Sendable {
        /// The process-wide switch.
        public static let shared = Trigger()

        private let armed = Atomic<Int>(-1)  // index into allCases, -1 when disarmed
        private let remaining = Atomic<Int>(0)
        private let handler = Mutex<(@Sendable (CrashPoint) -> Void)?>(nil)

        public init() {}

        /// Arms one point: the `arming.hit`-th `reach(point)` calls `handler` (which should not return).
        public func arm(_ arming: Arming, handler: @escaping @Sendable (CrashPoint) -> Void) {
            self.handler.withLock { $0 = handler }
            remaining.store(arming.hit, ordering: .sequentiallyConsistent)
            armed.store(CrashPoint.allCases.firstIndex(of: arming.point)!, ordering: .sequentiallyConsistent)
        }

        public func disarm() {
            armed.store(-1, ordering: .sequentiallyConsistent)
        }

        /// The armed point, if any.
        public var current: CrashPoint? {
            let index = armed.load(ordering: .relaxed)
            return index < 0 ? nil : CrashPoint.allCases[index]
        }

        /// Marks that execution reached `point`; calls the handler when it is the armed point's chosen hit.
        @inline(__always)
        public func reach(_ point: CrashPoint) {
            let index = armed.load(ordering: .relaxed)
            guard index >= 0, CrashPoint.allCases[index] == point else { return }
            if remaining.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
                let handler = self.handler.withLock { $0 }
                handler?(point)
            }
        }
    }

    /// Arms `Trigger.shared`.
    public static func arm(_ arming: Arming, handler: @escaping @Sendable (CrashPoint) -> Void) {
        Trigger.shared.arm(arming, handler: handler)
    }

    /// The point armed in this process, if any.
    public static var current: CrashPoint? { Trigger.shared.current }

    /// Marks that execution reached `point`; dies here when it is the armed point's chosen hit.
    @inline(__always)
    public static func reach(_ point: CrashPoint) {
        Trigger.shared.reach(point)
    }
}
