/// An error of the simulator. `description` is generic; `detail` says what exactly is wrong (a field path, a
/// line) and never holds a secret, but may quote fixture data, so callers decide whether to show it.
public struct SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The fixtures file could not be read.
        public static let fixturesUnreadable = Code(rawValue: "fixtures_unreadable")
        /// The fixtures could not be decoded (syntax or a missing/mistyped field).
        public static let fixturesMalformed = Code(rawValue: "fixtures_malformed")
        /// The fixtures decode but are inconsistent (duplicate id, bad time, unknown tenant...).
        public static let fixturesInvalid = Code(rawValue: "fixtures_invalid")
        /// A fault-mode document is invalid.
        public static let faultsInvalid = Code(rawValue: "faults_invalid")
        /// The simulator configuration is unusable (empty token, bad port...).
        public static let configurationInvalid = Code(rawValue: "configuration_invalid")
    }

    public let code: Code
    /// What exactly is wrong; may quote fixture values, never a token or password.
    public let detail: String

    public init(code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        switch code {
        case .fixturesUnreadable: "simulator fixtures could not be read"
        case .fixturesMalformed: "simulator fixtures are malformed"
        case .fixturesInvalid: "simulator fixtures are inconsistent"
        case .faultsInvalid: "simulator fault modes are invalid"
        case .configurationInvalid: "simulator configuration is invalid"
        default: "simulator error"
        }
    }

    public static func fixturesUnreadable(_ detail: String) -> SimulatorError {
        .init(code: .fixturesUnreadable, detail: detail)
    }
    public static func fixturesMalformed(_ detail: String) -> SimulatorError {
        .init(code: .fixturesMalformed, detail: detail)
    }
    public static func fixturesInvalid(_ detail: String) -> SimulatorError {
        .init(code: .fixturesInvalid, detail: detail)
    }
    public static func faultsInvalid(_ detail: String) -> SimulatorError { .init(code: .faultsInvalid, detail: detail) }
    public static func configurationInvalid(_ detail: String) -> SimulatorError {
        .init(code: .configurationInvalid, detail: detail)
    }
}
