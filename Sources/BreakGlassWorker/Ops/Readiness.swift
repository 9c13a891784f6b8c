/// What `/readyz` reports: every check named, ready only when all pass.
public struct Readiness: Sendable, Hashable, Codable {
    public struct Check: Sendable, Hashable, Codable {
        public var name: String
        public var ok: Bool
        /// A short, secret-free explanation ("connected", "blocked by the broker", ...).
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var ready: Bool
    public var checks: [Check]

    public init(checks: [Check]) {
        self.checks = checks
        self.ready = checks.allSatisfy(\.ok)
    }
}

/// A source of readiness checks (broker connected and not blocked, ledger writable, WebDriver reachable).
public protocol ReadinessProbe: Sendable {
    func check() async -> [Readiness.Check]
}
