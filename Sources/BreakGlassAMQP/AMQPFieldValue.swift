/// A value of an AMQP field table (message headers, queue/exchange arguments).
public indirect enum AMQPFieldValue: Sendable, Equatable, Hashable {
    case bool(Bool)
    /// All signed and unsigned integer kinds up to 64 bits (encoded as a signed 64-bit `l`).
    case int(Int64)
    case double(Double)
    /// A UTF-8 long string (`S`).
    case string(String)
    /// Raw bytes (`x`); also how a long string that is not valid UTF-8 is decoded.
    case bytes([UInt8])
    case timestamp(UInt64)
    case table([String: AMQPFieldValue])
    case array([AMQPFieldValue])
    case void

    /// The value as a string when it is a string (or UTF-8 bytes).
    public var stringValue: String? {
        switch self {
        case .string(let value): value
        case .bytes(let bytes): String(validating: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value as an integer when it is one.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }
}

extension AMQPFieldValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
