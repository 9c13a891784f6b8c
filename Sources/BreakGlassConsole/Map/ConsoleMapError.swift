/// A console map that cannot be used: every rule it breaks, each with the path of the offending entry.
public struct ConsoleMapError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Issue: Sendable, Hashable, CustomStringConvertible {
        /// `screens[3].fields[0].value`
        public var path: String
        public var rule: String

        public init(_ path: String, _ rule: String) {
            self.path = path
            self.rule = rule
        }

        public var description: String { "\(path): \(rule)" }
    }

    public enum Code: String, Sendable, Hashable {
        case unreadable
        case syntax
        case invalid
    }

    public let code: Code
    public let issues: [Issue]
    public let file: String?

    public init(_ code: Code, issues: [Issue], file: String? = nil) {
        self.code = code
        self.issues = issues
        self.file = file
    }

    public var description: String {
        switch code {
        case .unreadable: "console map unreadable"
        case .syntax: "console map is not valid YAML for a console map"
        case .invalid: "console map invalid (\(issues.count) issue\(issues.count == 1 ? "" : "s"))"
        }
    }

    public static func unreadable(_ file: String) -> ConsoleMapError {
        .init(.unreadable, issues: [.init("$", "cannot read the file")], file: file)
    }
    public static func syntax(_ path: String, _ rule: String, file: String?) -> ConsoleMapError {
        .init(.syntax, issues: [.init(path, rule)], file: file)
    }
    public static func invalid(_ issues: [Issue], file: String?) -> ConsoleMapError {
        .init(.invalid, issues: issues, file: file)
    }
}
