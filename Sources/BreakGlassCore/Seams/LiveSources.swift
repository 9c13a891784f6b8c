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
        var answers = SourceAnswers()
        await Self.gather(into: &answers, by: deadline.map { ContinuousClock.now.advanced(by: $0) }) { add in
            add {
                .escalationCase(await Self.traced("case") { await fetchCase(caseID: request.caseID) })
            }
            add { .tenant(await Self.traced("tenant") { await fetchTenant(tenantID: request.tenant.id) }) }
            add {
                .incident(await Self.traced("incident") { await fetchIncident(incidentID: request.incident.id) })
            }
            add {
                .identity(
                    await Self.traced("identity") {
                        await fetchIdentityAssurance(
                            adminID: request.requester.adminID, ref: request.requester.identityAssuranceRef)
                    })
            }
            add {
                .iamAdminState(
                    await Self.traced("iam-admin-state") { await fetchIAMAdminState(tenantID: request.tenant.id) })
            }
        }
        return answers.snapshot(startedAt: started)
    }

    /// The case and the IAM admin state, fetched concurrently, for the pre-submit recheck.
    public func preSubmitSnapshot(for request: RestorationRequest, deadline: Duration? = nil) async -> PreSubmitSnapshot
    {
        let started = Date()
        var answers = SourceAnswers()
        await Self.gather(into: &answers, by: deadline.map { ContinuousClock.now.advanced(by: $0) }) { add in
            add {
                .escalationCase(await Self.traced("case") { await fetchCase(caseID: request.caseID) })
            }
            add {
                .iamAdminState(
                    await Self.traced("iam-admin-state") { await fetchIAMAdminState(tenantID: request.tenant.id) })
            }
        }
        return answers.preSubmitSnapshot(startedAt: started)
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

    /// Runs the fetches `start` adds and fills `answers` as they arrive. With an `end`, one timer for all of them
    /// (issue 21: a timer and a task group per source were a twentieth of a halt's CPU), a `DeadlineTimers` sleep that
    /// leaves nothing queued once the answers are in: when it fires, the fetches
    /// still running are cancelled and their answers stay nil (`.unavailable` in the snapshot); the real client and
    /// the in-memory twin both end promptly on cancellation.
    static func gather(
        into answers: inout SourceAnswers, by end: ContinuousClock.Instant?,
        _ start: (_ add: (@escaping @Sendable () async -> SourceAnswers.Piece) -> Void) -> Void
    ) async {
        await withTaskGroup(of: SourceAnswers.Piece.self) { group in
            var pending = 0
            start { fetch in
                group.addTask(operation: fetch)
                pending += 1
            }
            if let end {
                group.addTask {
                    try? await DeadlineTimers.shared.sleep(until: end)
                    return .deadline
                }
            }
            while pending > 0, let piece = await group.next() {
                guard answers.take(piece) else { break }
                pending -= 1
            }
            group.cancelAll()
        }
    }

    /// `fetch`'s answer inside the source's span.
    static func traced<Value>(
        _ source: String, _ fetch: () async -> SourceAnswer<Value>
    ) async -> SourceAnswer<Value> {
        await Spans.with("gate.source \(source)", kind: .client, attributes: ["breakglass.source": .string(source)]) {
            span in
            let answer = await fetch()
            switch answer {
            case .found: span["breakglass.answer"] = .string("found")
            case .notFound: span["breakglass.answer"] = .string("not-found")
            case .unavailable: span.fail("unavailable")
            }
            return answer
        }
    }
}
