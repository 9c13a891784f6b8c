/// What one live source answered: the record, "does not exist" (HTTP 404), or nothing usable within the retry
/// window (timeout, connection failure, 5xx, malformed answer).
public enum SourceAnswer<Value: Sendable & Hashable & Codable>: Sendable, Hashable, Codable {
    case found(Value)
    case notFound
    /// The source could not be read; `detail` says why (never a token, never a response body).
    case unavailable(detail: String)

    /// The record when found.
    public var value: Value? {
        if case .found(let value) = self { return value }
        return nil
    }

    public var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    enum CodingKeys: String, CodingKey {
        case outcome, value, detail
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .outcome) {
        case "found": self = .found(try c.decode(Value.self, forKey: .value))
        case "not_found": self = .notFound
        case "unavailable": self = .unavailable(detail: try c.decode(String.self, forKey: .detail))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .outcome, in: c, debugDescription: "expected found, not_found or unavailable")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .found(let value):
            try c.encode("found", forKey: .outcome)
            try c.encode(value, forKey: .value)
        case .notFound:
            try c.encode("not_found", forKey: .outcome)
        case .unavailable(let detail):
            try c.encode("unavailable", forKey: .outcome)
            try c.encode(detail, forKey: .detail)
        }
    }
}
