/// Why a message was refused: one contract reason code and a specific, human-readable detail.
///
/// The detail names the field path and the rule broken (`privilege.duration_minutes: must be an integer from 1
/// to 1440`), never the offending value, so it is safe to log and to publish.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: ReasonCode
    public let detail: String

    public init(_ code: ReasonCode, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// `CODE: detail`, as `breakglass check` prints it.
    public var description: String { "\(code.rawValue): \(detail)" }

    static func schema(_ path: String, _ rule: String) -> Rejection {
        Rejection(.schemaInvalid, "\(path): \(rule)")
    }
}
