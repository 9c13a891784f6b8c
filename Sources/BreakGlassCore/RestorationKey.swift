/// The idempotency key of the contract (§2): at most one grant per (`case_id`, `tenant.id`), ever.
public struct RestorationKey: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let caseID: String
    public let tenantID: String

    public init(caseID: String, tenantID: String) {
        self.caseID = caseID
        self.tenantID = tenantID
    }

    /// `<case_id>/<tenant_id>`: the CloudEvents `subject`, the CLI spelling and the console external reference.
    public var description: String { "\(caseID)/\(tenantID)" }

    /// Parses `CASE/TENANT` as typed on the command line.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, Identifier.isValid(parts[0]), Identifier.isValid(parts[1]) else { return nil }
        self.init(caseID: String(parts[0]), tenantID: String(parts[1]))
    }

    public static func < (lhs: RestorationKey, rhs: RestorationKey) -> Bool {
        (lhs.caseID, lhs.tenantID) < (rhs.caseID, rhs.tenantID)
    }
}
