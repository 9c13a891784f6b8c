public import Foundation

/// The requester's identity assurance, `GET /v1/identity/{admin_id}/assurance/{ref}` (contract §4).
public struct IdentityAssurance: Sendable, Hashable, Codable {
    public var ref: String
    public var adminID: String
    public var verified: Bool
    /// When the identity was verified; nil when it never was.
    public var verifiedAt: Date?

    public init(ref: String, adminID: String, verified: Bool, verifiedAt: Date?) {
        self.ref = ref
        self.adminID = adminID
        self.verified = verified
        self.verifiedAt = verifiedAt
    }

    enum CodingKeys: String, CodingKey {
        case ref
        case adminID = "admin_id"
        case verified
        case verifiedAt = "verified_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        ref = try c.decode(String.self, forKey: .ref)
        adminID = try c.decode(String.self, forKey: .adminID)
        verified = try c.decode(Bool.self, forKey: .verified)
        verifiedAt = try c.decodeTimestampIfPresent(forKey: .verifiedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ref, forKey: .ref)
        try c.encode(adminID, forKey: .adminID)
        try c.encode(verified, forKey: .verified)
        try c.encodeTimestamp(verifiedAt, forKey: .verifiedAt)
    }
}
