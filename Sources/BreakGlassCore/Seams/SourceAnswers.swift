import Foundation

/// The answers of one gathering of live sources (`LiveSources.gather`), filled as they arrive; a source whose answer
/// is still nil when the deadline passed is `late`.
struct SourceAnswers: Sendable {
    /// One child task's result.
    enum Piece: Sendable {
        case escalationCase(SourceAnswer<CaseRecord>)
        case tenant(SourceAnswer<TenantRecord>)
        case incident(SourceAnswer<IncidentRecord>)
        case identity(SourceAnswer<IdentityAssurance>)
        case iamAdminState(SourceAnswer<IAMAdminState>)
        /// The gathering's deadline passed.
        case deadline
    }

    var escalationCase: SourceAnswer<CaseRecord>?
    var tenant: SourceAnswer<TenantRecord>?
    var incident: SourceAnswer<IncidentRecord>?
    var identity: SourceAnswer<IdentityAssurance>?
    var iamAdminState: SourceAnswer<IAMAdminState>?

    /// Keeps an answer; false for the deadline.
    mutating func take(_ piece: Piece) -> Bool {
        switch piece {
        case .escalationCase(let answer): escalationCase = answer
        case .tenant(let answer): tenant = answer
        case .incident(let answer): incident = answer
        case .identity(let answer): identity = answer
        case .iamAdminState(let answer): iamAdminState = answer
        case .deadline: return false
        }
        return true
    }

    /// The gate's snapshot of these answers, a late source `.unavailable`.
    func snapshot(startedAt: Date) -> SourceSnapshot {
        SourceSnapshot(
            escalationCase: escalationCase ?? Self.late(), tenant: tenant ?? Self.late(),
            incident: incident ?? Self.late(), identity: identity ?? Self.late(),
            iamAdminState: iamAdminState ?? Self.late(), fetchStartedAt: startedAt, fetchFinishedAt: Date())
    }

    /// The pre-submit recheck's snapshot of these answers, a late source `.unavailable`.
    func preSubmitSnapshot(startedAt: Date) -> PreSubmitSnapshot {
        PreSubmitSnapshot(
            escalationCase: escalationCase ?? Self.late(), iamAdminState: iamAdminState ?? Self.late(),
            fetchStartedAt: startedAt, fetchFinishedAt: Date())
    }

    /// The answer of a source that did not answer within the deadline.
    static func late<Value>() -> SourceAnswer<Value> { .unavailable(detail: "no answer within the gate deadline") }
}
