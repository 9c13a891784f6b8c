/// One failing gate condition: the contract's reason code (§6) and a sentence a human understands, naming the
/// field and the rule (never a secret).
public struct GateFinding: Sendable, Hashable, Codable, CustomStringConvertible {
    public var code: ReasonCode
    public var detail: String

    public init(_ code: ReasonCode, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
