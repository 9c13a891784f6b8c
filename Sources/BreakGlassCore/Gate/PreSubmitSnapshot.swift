public import Foundation

/// The two live-source answers the pre-submit recheck needs (case and IAM admin state), fetched concurrently right
/// before the console's final click.
public struct PreSubmitSnapshot: Sendable, Hashable, Codable {
    public var escalationCase: SourceAnswer<CaseRecord>
    public var iamAdminState: SourceAnswer<IAMAdminState>
    public var fetchStartedAt: Date
    public var fetchFinishedAt: Date

    public init(
        escalationCase: SourceAnswer<CaseRecord>, iamAdminState: SourceAnswer<IAMAdminState>,
        fetchStartedAt: Date = Date(), fetchFinishedAt: Date = Date()
    ) {
        self.escalationCase = escalationCase
        self.iamAdminState = iamAdminState
        self.fetchStartedAt = fetchStartedAt
        self.fetchFinishedAt = fetchFinishedAt
    }

    enum CodingKeys: String, CodingKey {
        case escalationCase = "case"
        case iamAdminState = "iam_admin_state"
        case fetchStartedAt = "fetch_started_at"
        case fetchFinishedAt = "fetch_finished_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        escalationCase = try c.decode(SourceAnswer<CaseRecord>.self, forKey: .escalationCase)
        iamAdminState = try c.decode(SourceAnswer<IAMAdminState>.self, forKey: .iamAdminState)
        fetchStartedAt = try c.decodeTimestamp(forKey: .fetchStartedAt)
        fetchFinishedAt = try c.decodeTimestamp(forKey: .fetchFinishedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(escalationCase, forKey: .escalationCase)
        try c.encode(iamAdminState, forKey: .iamAdminState)
        try c.encodeTimestamp(fetchStartedAt, forKey: .fetchStartedAt)
        try c.encodeTimestamp(fetchFinishedAt, forKey: .fetchFinishedAt)
    }
}
