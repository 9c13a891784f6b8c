/// An error setting up the live-source client (the fetches themselves never throw: they answer `.unavailable`).
/// `description` is generic; `detail` names the setting at fault and never holds the token.
public struct LiveSourcesError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Neither a token file nor a token environment variable yields a token.
        public static let tokenMissing = Code(rawValue: "token_missing")
        /// The token file could not be read.
        public static let tokenUnreadable = Code(rawValue: "token_unreadable")
        /// The token is empty or holds characters a header cannot carry.
        public static let tokenInvalid = Code(rawValue: "token_invalid")
        /// A setting is unusable (base URL, timeouts, CA file).
        public static let configurationInvalid = Code(rawValue: "configuration_invalid")
    }

    public let code: Code
    /// What exactly is wrong (a setting name, a path); never the token.
    public let detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .tokenMissing: "live-source bearer token is not configured"
        case .tokenUnreadable: "live-source bearer token file could not be read"
        case .tokenInvalid: "live-source bearer token is invalid"
        case .configurationInvalid: "live-source client configuration is invalid"
        default: "live-source client error"
        }
    }

    public static func tokenMissing(_ detail: String) -> Self { .init(code: .tokenMissing, detail: detail) }
    public static func tokenUnreadable(_ detail: String) -> Self { .init(code: .tokenUnreadable, detail: detail) }
    public static func tokenInvalid(_ detail: String) -> Self { .init(code: .tokenInvalid, detail: detail) }
    public static func configurationInvalid(_ detail: String) -> Self {
        .init(code: .configurationInvalid, detail: detail)
    }
}
