public import Foundation

/// All mutable state of a running simulator: fixtures, fault modes, grants, drafts and console sessions.
/// An actor, so the HTTP handlers, the control API and tests may touch it concurrently.
public actor SimulatorState {
    /// The fixtures a `reset` returns to.
    private var initialFixtures: SimulatorFixtures
    public private(set) var fixtures: SimulatorFixtures
    public private(set) var globalFaults = FaultModes.none
    public private(set) var tenantFaults: [String: FaultModes] = [:]
    public private(set) var grants: [SimulatorGrant] = []
    private var drafts: [String: Draft] = [:]
    private var sessions: [String: ConsoleSession] = [:]
    /// Every authenticated session id ever issued (a chaos run's leak scan looks for them; bounded).
    private(set) var issuedSessionIDs: [String] = []
    private var submits: [String: GrantCount] = [:]
    /// Bumped by `reset` and `releaseHangingRequests`; hanging submits end when it changes.
    public private(set) var hangGeneration = 0
    /// What reached the console's paths on the off-site origin (`OffsiteMiddleware`).
    public private(set) var offsite = OffsiteRecord()

    public struct OffsiteRecord: Codable, Sendable, Equatable {
        /// Requests of any method.
        public var requests = 0
        /// Form submissions (POST): each one would have handed the off-site origin what the form carried.
        public var posts = 0
        /// The posted field names (never their values).
        public var fields: [String] = []
    }

    func recordOffsite(post: Bool, fields: [String]) {
        offsite.requests += 1
        if post {
            offsite.posts += 1
            for field in fields where !offsite.fields.contains(field) { offsite.fields.append(field) }
        }
    }
    private let clock: @Sendable () -> Date

    struct Draft: Sendable {
        var id: String
        var screen: ConsoleScreen
        var flow: ConsoleFlow
        var savedAt: Date
    }

    struct ConsoleSession: Sendable {
        var id: String
        var csrfToken: String
        var authenticated: Bool
        var lastSeen: Date
        var flow = ConsoleFlow()
        /// Confirmation of the last submit (or the pending marker under `ambiguous_confirmation`).
        var lastGrantID: String?
        var lastSubmitAmbiguous = false
        var lastDraftID: String?
        var lastRevokedID: String?
    }

    public init(fixtures: SimulatorFixtures, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.initialFixtures = fixtures
        self.fixtures = fixtures
        self.clock = clock
    }

    public var now: Date { clock() }

    // MARK: - Fixtures and control

    /// Replaces the fixtures (and what `reset` returns to). Grants, drafts and sessions are kept.
    public func replaceFixtures(_ new: SimulatorFixtures) {
        fixtures = new
        initialFixtures = new
    }

    /// Back to the initial fixtures; no grants, drafts, sessions or faults. Hanging submits are released.
    public func reset() {
        fixtures = initialFixtures
        globalFaults = .none
        tenantFaults = [:]
        grants = []
        submits = [:]
        drafts = [:]
        sessions = [:]
        offsite = OffsiteRecord()
        hangGeneration += 1
    }

    public func releaseHangingRequests() { hangGeneration += 1 }

    public func setGlobalFaults(_ faults: FaultModes) { globalFaults = faults }

    public func setTenantFaults(_ faults: FaultModes?, tenantID: String) { tenantFaults[tenantID] = faults }

    public func clearFaults() {
        globalFaults = .none
        tenantFaults = [:]
    }

    /// The modes in force for `tenantID` (global only when `nil`).
    public func faults(for tenantID: String?) -> FaultModes {
        guard let tenantID, let specific = tenantFaults[tenantID] else { return globalFaults }
        return specific.merged(over: globalFaults)
    }

    public enum ApprovalAction: String, Codable, Sendable {
        /// Status `revoked`.
        case revoke
        /// Status `approved`, `approved_at` now, `expires_at` now + 24 h (or as given).
        case renew
        /// Status `pending`.
        case pend = "pending"
    }

    /// Changes one approval of a case. Returns the updated case, `nil` when case or approval is unknown.
    public func mutateApproval(
        caseID: String, approvalID: String, action: ApprovalAction,
        approvedAt: String? = nil, expiresAt: String? = nil
    ) -> SimulatorFixtures.Case? {
        guard let c = fixtures.cases.firstIndex(where: { $0.caseID == caseID }),
            let a = fixtures.cases[c].approvals.firstIndex(where: { $0.approvalID == approvalID })
        else { return nil }
        let now = clock()
        switch action {
        case .revoke:
            fixtures.cases[c].approvals[a].status = "revoked"
        case .pend:
            fixtures.cases[c].approvals[a].status = "pending"
        case .renew:
            fixtures.cases[c].approvals[a].status = "approved"
            fixtures.cases[c].approvals[a].approvedAt = approvedAt ?? SimulatorTime.format(now)
            fixtures.cases[c].approvals[a].expiresAt = expiresAt ?? SimulatorTime.format(now.addingTimeInterval(86_400))
        }
        if action != .renew {
            if let approvedAt { fixtures.cases[c].approvals[a].approvedAt = approvedAt }
            if let expiresAt { fixtures.cases[c].approvals[a].expiresAt = expiresAt }
        }
        return fixtures.cases[c]
    }

    public struct GrantCount: Codable, Sendable, Equatable {
        public var tenantID: String
        public var externalReference: String
        public var count: Int

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id", externalReference = "external_reference", count
        }
    }

    /// How many grants were ever made per (tenant, external reference), revoked ones included.
    public func grantCounts() -> [GrantCount] {
        var counts: [String: GrantCount] = [:]
        for grant in grants {
            let key = grant.tenantID + "\u{0}" + grant.externalReference
            counts[
                key, default: GrantCount(tenantID: grant.tenantID, externalReference: grant.externalReference, count: 0)
            ].count += 1
        }
        return counts.values.sorted { ($0.tenantID, $0.externalReference) < ($1.tenantID, $1.externalReference) }
    }

    public func grantCount(tenantID: String, externalReference: String) -> Int {
        grants.filter { $0.tenantID == tenantID && $0.externalReference == externalReference }.count
    }

    // MARK: - Live sources

    public func tenant(_ id: String) -> SimulatorFixtures.Tenant? { fixtures.tenants.first { $0.tenantID == id } }

    public func incident(_ id: String) -> SimulatorFixtures.Incident? {
        fixtures.incidents.first { $0.incidentID == id }
    }

    public func escalationCase(_ id: String) -> SimulatorFixtures.Case? { fixtures.cases.first { $0.caseID == id } }

    public func identity(adminID: String, ref: String) -> SimulatorFixtures.Identity? {
        fixtures.identities.first { $0.adminID == adminID && $0.ref == ref }
    }

    /// IAM admin-state of a tenant known to the tenant master or to IAM: fixture sessions and console grants
    /// (active, shown in IAM), unexpired only.
    public func adminState(
        tenantID: String
    ) -> (state: SimulatorFixtures.IAMState, sessions: [SimulatorFixtures.Session])? {
        guard tenant(tenantID) != nil || fixtures.iam[tenantID] != nil else { return nil }
        let state = fixtures.iam[tenantID] ?? SimulatorFixtures.IAMState()
        let now = clock()
        var sessions = state.sessions.filter { (SimulatorTime.parse($0.expiresAt) ?? .distantPast) > now }
        for grant in grants where grant.tenantID == tenantID && grant.inIAM {
            if (SimulatorTime.parse(grant.expiresAt) ?? .distantPast) > now {
                sessions.append(.init(grantRef: grant.confirmationID, expiresAt: grant.expiresAt))
            }
        }
        return (state, sessions)
    }

    // MARK: - Console sessions

    /// A new, not yet authenticated console session (for the login form's CSRF token).
    func newSession() -> ConsoleSession {
        let session = ConsoleSession(
            id: SimulatorRandom.token(), csrfToken: SimulatorRandom.token(),
            authenticated: false, lastSeen: clock())
        sessions[session.id] = session
        pruneSessions()
        return session
    }

    /// The session for a cookie value, `nil` when unknown or idle for too long (it is then forgotten).
    func session(_ id: String?) -> ConsoleSession? {
        guard let id, var session = sessions[id] else { return nil }
        let idle = TimeInterval(fixtures.console.sessionIdleMinutes * 60)
        let now = clock()
        guard now.timeIntervalSince(session.lastSeen) <= idle else {
            sessions[id] = nil
            return nil
        }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    func update(_ session: ConsoleSession) {
        guard sessions[session.id] != nil else { return }
        sessions[session.id] = session
    }

    func endSession(_ id: String) { sessions[id] = nil }

    public func endAllSessions() { sessions = [:] }

    /// Login form posts received (right or wrong credentials): a test checks no password reached this console.
    private var loginAttemptCount = 0
    public func loginAttempts() -> Int { loginAttemptCount }

    /// Checks the service account; on success the pre-login session is replaced by a fresh authenticated one
    /// (new id, new CSRF token) so a session id seen before login is worthless after it.
    func login(sessionID: String, username: String, password: String) -> ConsoleSession? {
        loginAttemptCount += 1
        let account = fixtures.console.serviceAccount
        guard SimulatorRandom.constantTimeEquals(username, account.username),
            SimulatorRandom.constantTimeEquals(password, account.password)
        else { return nil }
        sessions[sessionID] = nil
        let session = ConsoleSession(
            id: SimulatorRandom.token(), csrfToken: SimulatorRandom.token(),
            authenticated: true, lastSeen: clock())
        sessions[session.id] = session
        if issuedSessionIDs.count < 100_000 { issuedSessionIDs.append(session.id) }
        return session
    }

    private func pruneSessions() {
        guard sessions.count > 1000 else { return }
        let idle = TimeInterval(fixtures.console.sessionIdleMinutes * 60)
        let now = clock()
        sessions = sessions.filter { now.timeIntervalSince($0.value.lastSeen) <= idle }
    }

    // MARK: - Drafts

    func saveDraft(screen: ConsoleScreen, flow: ConsoleFlow) -> String {
        var id: String
        repeat { id = "DRAFT-" + SimulatorRandom.code() } while drafts[id] != nil
        drafts[id] = Draft(id: id, screen: screen, flow: flow, savedAt: clock())
        return id
    }

    func draft(_ id: String) -> Draft? { drafts[id] }

    // MARK: - Grants

    public func grant(confirmationID: String) -> SimulatorGrant? {
        grants.first { $0.confirmationID == confirmationID }
    }

    public func grants(tenantID: String?, externalReference: String?) -> [SimulatorGrant] {
        grants.filter {
            (tenantID == nil || $0.tenantID == tenantID)
                && (externalReference == nil || $0.externalReference == externalReference)
        }
    }

    enum GrantOutcome: Sendable {
        case granted(SimulatorGrant)
        case alreadyExists(SimulatorGrant)
    }

    /// Every final submit the console received per (tenant, external reference), including those answered with the
    /// "grant already exists" page: a client that submits a key twice shows here even though only one grant is made.
    public func submitCounts() -> [GrantCount] {
        submits.values.sorted { ($0.tenantID, $0.externalReference) < ($1.tenantID, $1.externalReference) }
    }

    /// Records a grant unless one exists for (tenant, external reference); the check and the insert are one step.
    func makeGrant(flow: ConsoleFlow, durationMinutes: Int, inIAM: Bool) -> GrantOutcome? {
        if let tenantID = flow.effectiveTenantID, let externalReference = flow.externalReference {
            submits[
                tenantID + "\u{0}" + externalReference,
                default: GrantCount(
                    tenantID: tenantID, externalReference: externalReference, count: 0)
            ].count += 1
        }
        guard let tenantID = flow.effectiveTenantID, let externalReference = flow.externalReference,
            let incidentID = flow.incidentID, let scopes = flow.scopes
        else { return nil }
        if let existing = grants.first(where: { $0.tenantID == tenantID && $0.externalReference == externalReference })
        {
            return .alreadyExists(existing)
        }
        var id: String
        repeat { id = "BG-" + SimulatorRandom.code() } while grants.contains { $0.confirmationID == id }
        let now = clock()
        let grant = SimulatorGrant(
            confirmationID: id, tenantID: tenantID, externalReference: externalReference, incidentID: incidentID,
            scopes: scopes, durationMinutes: durationMinutes, approvalReferences: flow.approvalReferences ?? [],
            packetID: flow.packetID ?? "", packetSHA256: flow.packetSHA256 ?? "",
            grantedAt: SimulatorTime.format(now),
            expiresAt: SimulatorTime.format(now.addingTimeInterval(TimeInterval(durationMinutes * 60))),
            status: "active", revokedAt: nil, revokeReason: nil, inIAM: inIAM)
        grants.append(grant)
        return .granted(grant)
    }

    /// Marks a grant revoked; `removeFromIAM` false keeps its session in IAM (the `silent` revoke fault).
    func revoke(confirmationID: String, reason: String, removeFromIAM: Bool) -> SimulatorGrant? {
        guard let index = grants.firstIndex(where: { $0.confirmationID == confirmationID }) else { return nil }
        guard grants[index].status == "active" else { return grants[index] }
        grants[index].status = "revoked"
        grants[index].revokedAt = SimulatorTime.format(clock())
        grants[index].revokeReason = reason
        // Under the `silent` fault the console believes it revoked the grant while IAM keeps the session.
        if removeFromIAM { grants[index].inIAM = false }
        return grants[index]
    }
}
