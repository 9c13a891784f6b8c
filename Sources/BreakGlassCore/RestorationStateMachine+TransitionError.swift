public import Foundation
extension RestorationStateMachine {
    /// A transition the life cycle refuses. `description` is generic; the fields say what happened.
    public struct TransitionError: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Code: String, Sendable, Hashable {
            /// The transition does not exist from the current state.
            case forbidden
            /// The caller's epoch is not the current one: someone else took the request over.
            case fenced
            /// A live owner holds the lease.
            case leaseHeld = "lease-held"
            /// The request was resumed as often as allowed.
            case resumeLimit = "resume-limit"
            /// The holder's lease has lapsed (or would within the required margin): it may not act on the key.
            case leaseLapsed = "lease-lapsed"
        }

        public let code: Code
        public let state: RestorationState?
        public let transition: Transition?
        public let heldEpoch: Int64?
        public let currentEpoch: Int64?
        public let owner: String?

        public var description: String { "restoration transition refused (\(code.rawValue))" }

        public static func forbidden(from state: RestorationState, via transition: Transition) -> Self {
            Self(code: .forbidden, state: state, transition: transition, heldEpoch: nil, currentEpoch: nil, owner: nil)
        }

        public static func fenced(held: Int64, current: Int64) -> Self {
            Self(code: .fenced, state: nil, transition: nil, heldEpoch: held, currentEpoch: current, owner: nil)
        }

        public static func leaseHeld(state: RestorationState, owner: String) -> Self {
            Self(code: .leaseHeld, state: state, transition: .reclaim, heldEpoch: nil, currentEpoch: nil, owner: owner)
        }

        public static func leaseLapsed(
            state: RestorationState, expiresAt: Date?, via transition: Transition = .beginSubmitting
        ) -> Self {
            Self(
                code: .leaseLapsed, state: state, transition: transition, heldEpoch: nil, currentEpoch: nil,
                owner: nil)
        }

        public static func resumeLimit(resumes: Int) -> Self {
            Self(
                code: .resumeLimit, state: .halted, transition: .resume, heldEpoch: nil, currentEpoch: Int64(resumes),
                owner: nil)
        }
    }
}
