public import Foundation

/// Reads the five live sources of the contract (§4). Each call answers found / not found / unavailable and never
/// throws: retrying within a bounded window is the implementation's job, and what is still unreadable after it is
/// `.unavailable`.
///
/// The real implementation is `LiveSourcesClient` (module BreakGlassLiveSources, HTTP); `InMemoryLiveSources` serves
/// unit tests.
public protocol LiveSources: Sendable {
    func fetchCase(caseID: String) async -> SourceAnswer<CaseRecord>
    func fetchTenant(tenantID: String) async -> SourceAnswer<TenantRecord>
    func fetchIncident(incidentID: String) async -> SourceAnswer<IncidentRecord>
    func fetchIdentityAssurance(adminID: String, ref: String) async -> SourceAnswer<IdentityAssurance>
    func fetchIAMAdminState(tenantID: String) async -> SourceAnswer<IAMAdminState>
}

extension LiveSources {
    /// The five answers for one request, fetched concurrently. `deadline`: the whole fetch's upper bound (issue 15.6);
    /// a source still unanswered then is `.unavailable` (its fetch is cancelled), whatever its own retry window.
    public func snapshot(for request: RestorationRequest, deadline: Duration? = nil) async -> SourceSnapshot {
        let started = Date()
        let end = deadline.map { ContinuousClock.now.advanced(by: $0) }
        async let escalationCase = Self.answer("case", by: end) { await fetchCase(caseID: request.caseID) }
        async let tenant = Self.answer("tenant", by: end) { await fetchTenant(tenantID: request.tenant.id) }
        async let incident = Self.answer("incident", by: end) { await fetchIncident(incidentID: request.incident.id) }
        async let identity = Self.answer("identity", by: end) {
            await fetchIdentityAssurance(
                adminID: request.requester.adminID, ref: request.requester.identityAssuranceRef)
        }
        async let iam = Self.answer("iam-admin-state", by: end) {
            await fetchIAMAdminState(tenantID: request.tenant.id)
        }
        return SourceSnapshot(
            escalationCase: await escalationCase, tenant: await tenant, incident: await incident,
            identity: await identity, iamAdminState: await iam, fetchStartedAt: started, fetchFinishedAt: Date())
    }

    /// The case and the IAM admin state, fetched concurrently, for the pre-submit recheck.
    public func preSubmitSnapshot(for request: RestorationRequest, deadline: Duration? = nil) async -> PreSubmitSnapshot
    {
        let started = Date()
        let end = deadline.map { ContinuousClock.now.advanced(by: $0) }
        async let escalationCase = Self.answer("case", by: end) { await fetchCase(caseID: request.caseID) }
        async let iam = Self.answer("iam-admin-state", by: end) {
            await fetchIAMAdminState(tenantID: request.tenant.id)
        }
        return PreSubmitSnapshot(
            escalationCase: await escalationCase, iamAdminState: await iam, fetchStartedAt: started,
            fetchFinishedAt: Date())
    }

    /// Fetches the sources concurrently and runs the full gate at the instant the answers arrived.
    public func gate(
        _ request: RestorationRequest, policy: GatePolicy, clock: @Sendable () -> Date = { Date() },
        deadline: Duration? = nil
    ) async -> (GateResult, SourceSnapshot) {
        let snapshot = await snapshot(for: request, deadline: deadline)
        return (Gate.evaluate(request: request, snapshot: snapshot, policy: policy, now: clock()), snapshot)
    }

    /// Fetches the case and IAM state concurrently and runs the pre-submit recheck.
    public func preSubmitRecheck(
        _ request: RestorationRequest, policy: GatePolicy, clock: @Sendable () -> Date = { Date() },
        deadline: Duration? = nil
    ) async -> (GateResult, PreSubmitSnapshot) {
        let snapshot = await preSubmitSnapshot(for: request, deadline: deadline)
        return (Gate.preSubmitRecheck(request: request, snapshot: snapshot, policy: policy, now: clock()), snapshot)
    }

    /// `fetch`'s answer, or `.unavailable` when `end` passes first (the fetch is then cancelled; the real client and
    /// the in-memory twin both end promptly on cancellation).
    static func answer<Value>(
        _ source: String, by end: ContinuousClock.Instant?, _ fetch: @escaping @Sendable () async -> SourceAnswer<Value>
    ) async -> SourceAnswer<Value> {
        await Spans.with("gate.source \(source)", kind: .client, attributes: ["breakglass.source": .string(source)]) {
            span in
            let answer = await answer(by: end, fetch)
            switch answer {
            case .found: span["breakglass.answer"] = .string("found")
            case .notFound: span["breakglass.answer"] = .string("not-found")
            case .unavailable: span.fail("unavailable")
            }
            return answer
        }
    }

    static func answer<Value>(
        by end: ContinuousClock.Instant?, _ fetch: @escaping @Sendable () async -> SourceAnswer<Value>
    ) async -> SourceAnswer<Value> {
        guard let end else { return await fetch() }
        return await withTaskGroup(of: SourceAnswer<Value>?.self) { group in
            group.addTask { await fetch() }
            group.addTask {
                try? await Task.sleep(until: end, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .unavailable(detail: "no answer within the gate deadline")
        }
    }
}
