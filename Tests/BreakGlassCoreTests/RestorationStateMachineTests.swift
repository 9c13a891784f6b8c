import BreakGlassCore
import Foundation
import Testing

@Suite("RestorationStateMachine")
struct RestorationStateMachineTests {
    typealias Machine = RestorationStateMachine
    typealias Transition = RestorationStateMachine.Transition

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let later = now.addingTimeInterval(60)
    static let earlier = now.addingTimeInterval(-1)

    /// A machine in `state` whose lease (if in flight) expired, so that a reclaim is possible.
    static func machine(in state: RestorationState, leaseExpired: Bool = true) -> Machine {
        let lease =
            state.isInFlight
            ? Machine.Lease(owner: "w-old", expiresAt: leaseExpired ? earlier : later) : nil
        return Machine(state: state, epoch: 3, lease: lease, resumeCount: 0)
    }

    /// Applies `transition` the way the ledger would (right epoch, expired lease for reclaim).
    static func apply(_ transition: Transition, to machine: inout Machine) throws(Machine.TransitionError) {
        switch transition {
        case .claim: try machine.claim(owner: "w-new", leaseExpiresAt: later)
        case .passGate: try machine.passGate(epoch: machine.epoch)
        case .beginSubmitting: try machine.beginSubmitting(epoch: machine.epoch)
        case .grant: try machine.grant(epoch: machine.epoch)
        case .halt: try machine.halt(epoch: machine.epoch)
        case .reject: try machine.reject(epoch: machine.state == .received ? nil : machine.epoch)
        case .reclaim: try machine.reclaim(owner: "w-new", leaseExpiresAt: later, now: now)
        case .resume: try machine.resume(owner: "w-new", leaseExpiresAt: later, maximumResumes: 3)
        case .resolve: try machine.resolve()
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let state: RestorationState
        let transition: Transition
        var testDescription: String { "\(state) --\(transition)-->" }
    }

    static let allPairs: [Case] = RestorationState.allCases.flatMap { state in
        Transition.allCases.map { Case(state: state, transition: $0) }
    }

    @Test(
        "every (state, transition) pair: allowed ones land on the table's target, all others are refused",
        arguments: allPairs)
    func everyPair(_ pair: Case) throws {
        var machine = Self.machine(in: pair.state)
        let before = machine
        let expected = Machine.target(of: pair.transition, from: pair.state)
        if let expected {
            try Self.apply(pair.transition, to: &machine)
            #expect(machine.state == expected)
            #expect(machine.epoch >= before.epoch)
        } else {
            #expect(throws: Machine.TransitionError.self) { try Self.apply(pair.transition, to: &machine) }
            #expect(machine == before, "a refused transition changes nothing")
        }
    }

    @Test func theTableHasExactlyTheDocumentedEdges() {
        let edges = Set(Machine.allowedTransitions.map { "\($0.from)>\($0.to)" })
        #expect(
            edges == [
                "received>claimed", "received>rejected",
                "claimed>gate-passed", "claimed>halted", "claimed>rejected", "claimed>claimed",
                "gate-passed>submitting", "gate-passed>halted", "gate-passed>claimed",
                "submitting>granted", "submitting>halted", "submitting>submitting",
                "halted>claimed", "halted>resolved",
            ])
        for state in RestorationState.allCases where state.isFinal {
            #expect(!Machine.allowedTransitions.contains { $0.from == state }, "\(state) is final")
        }
    }

    @Test func grantedNeverGoesBack() {
        for target in RestorationState.allCases {
            #expect(!Machine.isAllowed(from: .granted, to: target))
        }
    }

    @Test func haltedLeavesOnlyThroughResumeOrResolve() {
        let exits = Machine.allowedTransitions.filter { $0.from == .halted }.map(\.via)
        #expect(Set(exits) == [.resume, .resolve])
    }

    @Test func happyPathIncreasesEpochOnlyOnClaim() throws {
        var machine = Machine()
        try machine.claim(owner: "w1", leaseExpiresAt: Self.later)
        #expect(machine.epoch == 1)
        try machine.passGate(epoch: 1)
        try machine.beginSubmitting(epoch: 1)
        try machine.grant(epoch: 1)
        #expect(machine.state == .granted)
        #expect(machine.epoch == 1)
        #expect(machine.lease == nil)
    }

    @Test func aStaleEpochIsFenced() throws {
        var machine = Machine()
        try machine.claim(owner: "w1", leaseExpiresAt: Self.earlier)
        try machine.reclaim(owner: "w2", leaseExpiresAt: Self.later, now: Self.now)
        #expect(machine.epoch == 2)
        for attempt in [Transition.passGate, .halt, .reject] {
            var copy = machine
            let error = #expect(throws: Machine.TransitionError.self) {
                switch attempt {
                case .passGate: try copy.passGate(epoch: 1)
                case .halt: try copy.halt(epoch: 1)
                default: try copy.reject(epoch: 1)
                }
            }
            #expect(error?.code == .fenced)
            #expect(error?.heldEpoch == 1)
            #expect(error?.currentEpoch == 2)
        }
    }

    @Test func aLiveOwnersClaimIsNeverTaken() {
        for state in RestorationState.allCases where state.isInFlight {
            var machine = Self.machine(in: state, leaseExpired: false)
            let error = #expect(throws: Machine.TransitionError.self) {
                try machine.reclaim(owner: "w-new", leaseExpiresAt: Self.later, now: Self.now)
            }
            #expect(error?.code == .leaseHeld)
            #expect(error?.owner == "w-old")
            #expect(machine.epoch == 3)
        }
    }

    @Test func leaseExactlyAtExpiryIsTakeable() throws {
        var machine = Machine(state: .claimed, epoch: 1, lease: .init(owner: "w1", expiresAt: Self.now))
        #expect(machine.liveness(at: Self.now) == .abandoned)
        #expect(try machine.reclaim(owner: "w2", leaseExpiresAt: Self.later, now: Self.now) == .restart)
    }

    @Test func reclaimRestartsBeforeSubmittingAndReconcilesAfter() throws {
        var claimed = Self.machine(in: .claimed)
        #expect(try claimed.reclaim(owner: "w2", leaseExpiresAt: Self.later, now: Self.now) == .restart)
        #expect(claimed.state == .claimed)
        #expect(claimed.epoch == 4)
        #expect(claimed.lease?.owner == "w2")

        var gatePassed = Self.machine(in: .gatePassed)
        #expect(try gatePassed.reclaim(owner: "w2", leaseExpiresAt: Self.later, now: Self.now) == .restart)
        #expect(gatePassed.state == .claimed, "the gate runs again under the new owner")

        var submitting = Self.machine(in: .submitting)
        #expect(try submitting.reclaim(owner: "w2", leaseExpiresAt: Self.later, now: Self.now) == .reconcile)
        #expect(submitting.state == .submitting, "in doubt: never back to a state that would submit again")
        #expect(submitting.epoch == 4)
    }

    @Test func livenessDetectsInDoubtAndAbandoned() {
        #expect(Self.machine(in: .submitting).liveness(at: Self.now) == .inDoubt)
        #expect(Self.machine(in: .claimed).liveness(at: Self.now) == .abandoned)
        #expect(Self.machine(in: .gatePassed).liveness(at: Self.now) == .abandoned)
        #expect(Self.machine(in: .submitting, leaseExpired: false).liveness(at: Self.now) == .live(owner: "w-old"))
        for state in [RestorationState.received, .granted, .halted, .rejected, .resolved] {
            #expect(Self.machine(in: state).liveness(at: Self.now) == .idle)
        }
    }

    @Test func resumeCountsAndIsLimited() throws {
        var machine = Machine(state: .halted, epoch: 5)
        try machine.resume(owner: "w1", leaseExpiresAt: Self.later, maximumResumes: 2)
        #expect(machine.state == .claimed)
        #expect(machine.resumeCount == 1)
        #expect(machine.epoch == 6)
        try machine.halt(epoch: 6)
        try machine.resume(owner: "w1", leaseExpiresAt: Self.later, maximumResumes: 2)
        try machine.halt(epoch: 7)
        let error = #expect(throws: Machine.TransitionError.self) {
            try machine.resume(owner: "w1", leaseExpiresAt: Self.later, maximumResumes: 2)
        }
        #expect(error?.code == .resumeLimit)
        #expect(machine.state == .halted)
        try machine.resolve()
        #expect(machine.state == .resolved)
        #expect(machine.state.isFinal)
    }

    @Test func renewingTheLeaseNeedsTheCurrentEpochAndNeverShortensIt() throws {
        var machine = Machine()
        try machine.claim(owner: "w1", leaseExpiresAt: Self.now)
        try machine.renewLease(epoch: 1, until: Self.later, now: Self.earlier)
        #expect(machine.lease?.expiresAt == Self.later)
        try machine.renewLease(epoch: 1, until: Self.now, now: Self.earlier)
        #expect(machine.lease?.expiresAt == Self.later)
        #expect(throws: Machine.TransitionError.self) {
            try machine.renewLease(epoch: 0, until: Self.later, now: Self.earlier)
        }
    }

    /// A multi-host run: a host cut off past its `submitting` lease renewed it when its link came back, and clicked.
    /// A lease that lapsed is never revived, whatever the epoch says.
    @Test func aLapsedLeaseIsNeverRenewed() throws {
        var machine = Machine()
        try machine.claim(owner: "w1", leaseExpiresAt: Self.now)
        let error = #expect(throws: Machine.TransitionError.self) {
            try machine.renewLease(epoch: 1, until: Self.later.addingTimeInterval(60), now: Self.later)
        }
        #expect(error?.code == .leaseLapsed)
        #expect(machine.lease?.expiresAt == Self.now, "unchanged")
        #expect(throws: Machine.TransitionError.self) {
            try machine.renewLease(epoch: 1, until: Self.later, now: Self.now)
        }
    }

    @Test func errorDescriptionIsGeneric() {
        let error = Machine.TransitionError.leaseHeld(state: .claimed, owner: "secret-owner")
        #expect(!error.description.contains("secret-owner"))
    }
}
