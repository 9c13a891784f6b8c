public import Foundation

/// Reads the five live sources of the contract (§4). Each call answers found / not found / unavailable and never
/// throws: retrying within a bounded window is the implementation's job, and what is still unreadable after it is
/// `.unavailable`.
///
/// The real implementation is `LiveSourcesClient` (module BreakGlassSources, HTTP); `InMemoryLiveSources` serves
/// unit tests.
public protocol LiveSources: Sendable {
    func fetchCase(caseID: String) async -> SourceAnswer<CaseRecord>
    func fetchTenant(tenantID: String) async -> SourceAnswer<TenantRecord>
    func fetchIncident(incidentID: String) async -> SourceAnswer<IncidentRecord>
    func fetchIdentityAssurance(adminID: String, ref: String) async -> SourceAnswer<IdentityAssurance>
    func fetchIAMAdminState(tenantID: String) async -> SourceAnswer<IAMAdminState>
}

extension LiveSources {
    /// The five answers for one request, fetched concurrently.
    public func snapshot(for request: RestorationRequest) async -> SourceSnapshot {
        let started = Date()
        async let escalationCase = fetchCase(caseID: request.caseID)
        async let tenant = fetchTenant(tenantID: request.tenant.id)
        async let incident = fetchIncident(incidentID: request.incident.id)
        async let identity = fetchIdentityAssurance(
            adminID: request.requester.adminID, ref: request.requester.identityAssuranceRef)
        async let iam = fetchIAMAdminState(tenantID: request.tenant.id)
        return SourceSnapshot(
            escalationCase: await escalationCase, tenant: await tenant, incident: await incident,
            identity: await identity, iamAdminState: await iam, fetchStartedAt: started, fetchFinishedAt: Date())
    }

    /// The case and the IAM admin state, fetched concurrently, for the pre-submit recheck.
    public func preSubmitSnapshot(for request: RestorationRequest) async -> PreSubmitSnapshot {
        let started = Date()
        async let escalationCase = fetchCase(caseID: request.caseID)
        async let iam = fetchIAMAdminState(tenantID: request.tenant.id)
        return PreSubmitSnapshot(
            escalationCase: await escalationCase, iamAdminState: await iam, fetchStartedAt: started,
            fetchFinishedAt: Date())
    }

    /// Fetches the sources concurrently and runs the full gate at the instant the answers arrived.
    public func gate(
        _ request: RestorationRequest, policy: GatePolicy, clock: @Sendable () -> Date = { Date() }
    ) async -> (GateResult, SourceSnapshot) {
        let snapshot = await snapshot(for: request)
        return (Gate.evaluate(request: request, snapshot: snapshot, policy: policy, now: clock()), snapshot)
    }

    /// Fetches the case and IAM state concurrently and runs the pre-submit recheck.
    public func preSubmitRecheck(
        _ request: RestorationRequest, policy: GatePolicy, clock: @Sendable () -> Date = { Date() }
    ) async -> (GateResult, PreSubmitSnapshot) {
        let snapshot = await preSubmitSnapshot(for: request)
        return (Gate.preSubmitRecheck(request: request, snapshot: snapshot, policy: policy, now: clock()), snapshot)
    }
}
