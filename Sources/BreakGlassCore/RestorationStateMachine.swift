public import Foundation

/// The life cycle of one restoration key as a plain value: which transitions exist, who holds the request
/// (owner, lease, epoch as a fencing token), and what a dead owner leaves behind.
///
/// The ledger loads a row into this struct, applies one transition, and writes the result back with
/// `WHERE epoch = <epoch read>`; the schema's triggers refuse the same forbidden transitions a second time.
/// ``allowedTransitions`` is the single list both sides use.
public struct RestorationStateMachine: Sendable, Hashable {
    /// Who works on the request, until when.
    public struct Lease: Sendable, Hashable, Codable {
        public var owner: String
        public var expiresAt: Date

        public init(owner: String, expiresAt: Date) {
            self.owner = owner
            self.expiresAt = expiresAt
        }
    }

    /// The named steps of the life cycle.
    public enum Transition: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case claim
        case passGate = "pass-gate"
        case beginSubmitting = "begin-submitting"
        case grant
        case halt
        case reject
        /// A new owner takes an in-flight request whose lease expired (epoch + 1).
        case reclaim
        /// A person resumes a halted request: it is claimed again under the same key (epoch + 1, resumes + 1).
        case resume
        /// A person closes a halted request without resuming it.
        case resolve

        public var description: String { rawValue }
    }

    /// One allowed edge of the life cycle.
    public struct Edge: Sendable, Hashable {
        public let from: RestorationState
        public let to: RestorationState
        public let via: Transition
    }

    /// Every allowed transition; anything else is forbidden (and refused by the ledger's trigger too).
    public static let allowedTransitions: [Edge] = [
        Edge(from: .received, to: .claimed, via: .claim),
        Edge(from: .received, to: .rejected, via: .reject),
        Edge(from: .claimed, to: .gatePassed, via: .passGate),
        Edge(from: .claimed, to: .halted, via: .halt),
        Edge(from: .claimed, to: .rejected, via: .reject),
        Edge(from: .claimed, to: .claimed, via: .reclaim),
        Edge(from: .gatePassed, to: .submitting, via: .beginSubmitting),
        Edge(from: .gatePassed, to: .halted, via: .halt),
        Edge(from: .gatePassed, to: .claimed, via: .reclaim),
        Edge(from: .submitting, to: .granted, via: .grant),
        Edge(from: .submitting, to: .halted, via: .halt),
        Edge(from: .submitting, to: .submitting, via: .reclaim),
        Edge(from: .halted, to: .claimed, via: .resume),
        Edge(from: .halted, to: .resolved, via: .resolve),
    ]

    /// The target state of `transition` from `state`, or nil when forbidden.
    public static func target(of transition: Transition, from state: RestorationState) -> RestorationState? {
        allowedTransitions.first { $0.from == state && $0.via == transition }?.to
    }

    /// Whether the ledger may move a row from `from` to `to` (by any transition).
    public static func isAllowed(from: RestorationState, to: RestorationState) -> Bool {
        allowedTransitions.contains { $0.from == from && $0.to == to }
    }

    /// What an observer sees at a given instant.
    public enum Liveness: Sendable, Hashable {
        /// Not in flight (received, or decided).
        case idle
        /// In flight under a lease that has not expired.
        case live(owner: String)
        /// claimed or gate-passed, lease expired: nothing was submitted; a new owner restarts it.
        case abandoned
        /// submitting, lease expired: access may have been granted; a new owner must reconcile, never resubmit.
        case inDoubt
    }

    /// What a new owner must do after ``reclaim(owner:leaseExpiresAt:now:)``.
    public enum Recovery: Sendable, Hashable {
        /// Nothing reached the console's final click: run the request from the start (gate included).
        case restart
        /// The dead owner was at or past the final click: reconcile against the console, never resubmit.
        case reconcile
    }

    public private(set) var state: RestorationState
    /// The fencing token: increases whenever the request changes hands (claim, reclaim, resume).
    public private(set) var epoch: Int64
    public private(set) var lease: Lease?
    public private(set) var resumeCount: Int

    public init(state: RestorationState = .received, epoch: Int64 = 0, lease: Lease? = nil, resumeCount: Int = 0) {
        self.state = state
        self.epoch = epoch
        self.lease = lease
        self.resumeCount = resumeCount
    }

    public func liveness(at now: Date) -> Liveness {
        guard state.isInFlight else { return .idle }
        if let lease, lease.expiresAt > now { return .live(owner: lease.owner) }
        return state == .submitting ? .inDoubt : .abandoned
    }

    // MARK: - Transitions

    /// received → claimed by `owner` (epoch + 1).
    public mutating func claim(owner: String, leaseExpiresAt: Date) throws(TransitionError) {
        try move(.claim)
        epoch += 1
        lease = Lease(owner: owner, expiresAt: leaseExpiresAt)
    }

    /// Reclaims an in-flight request whose lease expired (a worker, not a person: "takeover" is the hand-off to a
    /// person). A live owner's claim is never taken.
    @discardableResult
    public mutating func reclaim(owner: String, leaseExpiresAt: Date, now: Date) throws(TransitionError) -> Recovery {
        guard state.isInFlight else { throw .forbidden(from: state, via: .reclaim) }
        if case .live(let holder) = liveness(at: now) { throw .leaseHeld(state: state, owner: holder) }
        let recovery: Recovery = state == .submitting ? .reconcile : .restart
        try move(.reclaim)
        epoch += 1
        lease = Lease(owner: owner, expiresAt: leaseExpiresAt)
        return recovery
    }

    /// Extends the lease of the current holder, whose lease must still be live at `now`: a lease that lapsed is
    /// never revived (the key may already be someone else's, or about to be; the holder must stop, not renew). A
    /// multi-host run saw a host cut off past its lease click once its link came back.
    public mutating func renewLease(epoch: Int64, until expiresAt: Date, now: Date) throws(TransitionError) {
        try checkFence(epoch)
        guard state.isInFlight, let lease else { throw .forbidden(from: state, via: .claim) }
        guard lease.expiresAt > now else {
            throw .leaseLapsed(state: state, expiresAt: lease.expiresAt, via: .claim)
        }
        self.lease = Lease(owner: lease.owner, expiresAt: max(lease.expiresAt, expiresAt))
    }

    public mutating func passGate(epoch: Int64) throws(TransitionError) {
        try checkFence(epoch)
        try move(.passGate)
    }

    /// To be made durable BEFORE the final submit click.
    public mutating func beginSubmitting(epoch: Int64) throws(TransitionError) {
        try checkFence(epoch)
        try move(.beginSubmitting)
    }

    /// To be made durable BEFORE the final submit click, by a holder whose lease is still live at `now` with
    /// `margin` to spare (a lapsed lease may already be someone else's: never click on one). The lease is extended
    /// to at least `until` in the same step, so it covers the click and the confirmation bound.
    public mutating func beginSubmitting(
        epoch: Int64, now: Date, margin: TimeInterval, until: Date
    ) throws(TransitionError) {
        try checkFence(epoch)
        guard let lease, lease.expiresAt > now.addingTimeInterval(margin) else {
            throw .leaseLapsed(state: state, expiresAt: self.lease?.expiresAt)
        }
        try move(.beginSubmitting)
        self.lease = Lease(owner: lease.owner, expiresAt: max(lease.expiresAt, until))
    }

    public mutating func grant(epoch: Int64) throws(TransitionError) {
        try checkFence(epoch)
        try move(.grant)
        lease = nil
    }

    public mutating func halt(epoch: Int64) throws(TransitionError) {
        try checkFence(epoch)
        try move(.halt)
        lease = nil
    }

    /// Rejects a received request (no epoch yet) or a claimed one (fenced by its epoch).
    public mutating func reject(epoch: Int64?) throws(TransitionError) {
        if state != .received || epoch != nil { try checkFence(epoch ?? -1) }
        try move(.reject)
        lease = nil
    }

    /// A person resumes a halted request: claimed again under the same key, at most `maximumResumes` times.
    public mutating func resume(owner: String, leaseExpiresAt: Date, maximumResumes: Int) throws(TransitionError) {
        guard state == .halted else { throw .forbidden(from: state, via: .resume) }
        guard resumeCount < maximumResumes else { throw .resumeLimit(resumes: resumeCount) }
        try move(.resume)
        resumeCount += 1
        epoch += 1
        lease = Lease(owner: owner, expiresAt: leaseExpiresAt)
    }

    /// A person closes a halted request for good.
    public mutating func resolve() throws(TransitionError) {
        try move(.resolve)
    }

    private mutating func move(_ transition: Transition) throws(TransitionError) {
        guard let next = Self.target(of: transition, from: state) else {
            throw .forbidden(from: state, via: transition)
        }
        state = next
    }

    private func checkFence(_ epoch: Int64) throws(TransitionError) {
        guard epoch == self.epoch else { throw .fenced(held: epoch, current: self.epoch) }
    }
}
