import Synchronization

/// `LiveSources` for unit tests: records keyed by id, an "unavailable" switch per source, and a count of calls.
public final class InMemoryLiveSources: LiveSources {
    private struct State {
        var cases: [String: CaseRecord] = [:]
        var tenants: [String: TenantRecord] = [:]
        var incidents: [String: IncidentRecord] = [:]
        /// Keyed by `admin_id/ref`.
        var identities: [String: IdentityAssurance] = [:]
        var iam: [String: IAMAdminState] = [:]
        var unavailable: Set<SourceKind> = []
        var stalled: Set<SourceKind> = []
        var calls: [SourceKind: Int] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public func put(_ record: CaseRecord) { state.withLock { $0.cases[record.caseID] = record } }
    public func put(_ record: TenantRecord) { state.withLock { $0.tenants[record.tenantID] = record } }
    public func put(_ record: IncidentRecord) { state.withLock { $0.incidents[record.incidentID] = record } }
    public func put(_ record: IdentityAssurance) {
        state.withLock { $0.identities["\(record.adminID)/\(record.ref)"] = record }
    }
    public func put(_ record: IAMAdminState, tenantID: String) { state.withLock { $0.iam[tenantID] = record } }

    /// Makes a source answer `.unavailable` (true) or normally again (false).
    public func setUnavailable(_ kind: SourceKind, _ unavailable: Bool = true) {
        state.withLock { state in
            if unavailable { state.unavailable.insert(kind) } else { state.unavailable.remove(kind) }
        }
    }

    /// Makes a source never answer (true) until its fetch is cancelled, like a source that sends its headers and
    /// then one byte a second; false: normal again.
    public func setStalled(_ kind: SourceKind, _ stalled: Bool = true) {
        state.withLock { state in
            if stalled { state.stalled.insert(kind) } else { state.stalled.remove(kind) }
        }
    }

    /// How many times a source was asked.
    public func callCount(_ kind: SourceKind) -> Int { state.withLock { $0.calls[kind] ?? 0 } }

    private func answer<V>(_ kind: SourceKind, _ lookup: (State) -> V?) async -> SourceAnswer<V> {
        if state.withLock({ $0.stalled.contains(kind) }) {
            state.withLock { $0.calls[kind, default: 0] += 1 }
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            return .unavailable(detail: "stalled (in-memory), cancelled")
        }
        return state.withLock { state in
            state.calls[kind, default: 0] += 1
            if state.unavailable.contains(kind) { return .unavailable(detail: "marked unavailable (in-memory)") }
            return lookup(state).map { .found($0) } ?? .notFound
        }
    }

    public func fetchCase(caseID: String) async -> SourceAnswer<CaseRecord> {
        await answer(.escalationCase) { $0.cases[caseID] }
    }

    public func fetchTenant(tenantID: String) async -> SourceAnswer<TenantRecord> {
        await answer(.tenant) { $0.tenants[tenantID] }
    }

    public func fetchIncident(incidentID: String) async -> SourceAnswer<IncidentRecord> {
        await answer(.incident) { $0.incidents[incidentID] }
    }

    public func fetchIdentityAssurance(adminID: String, ref: String) async -> SourceAnswer<IdentityAssurance> {
        await answer(.identity) { $0.identities["\(adminID)/\(ref)"] }
    }

    public func fetchIAMAdminState(tenantID: String) async -> SourceAnswer<IAMAdminState> {
        await answer(.iamAdminState) { $0.iam[tenantID] }
    }
}
