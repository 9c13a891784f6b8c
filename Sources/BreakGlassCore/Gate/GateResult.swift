public import Foundation

/// The gate's decision: every failing condition, not just the first. Passed when there is none.
public struct GateResult: Sendable, Hashable, Codable {
    /// Which check produced the result.
    public enum Stage: String, Sendable, Hashable, Codable {
        /// The full gate, before the console.
        case gate
        /// The recheck right before the console's final click.
        case preSubmit = "pre-submit"
    }

    public var stage: Stage
    public var findings: [GateFinding]
    /// The instant the rules were evaluated against (worker clock).
    public var evaluatedAt: Date

    public init(stage: Stage, findings: [GateFinding], evaluatedAt: Date) {
        self.stage = stage
        self.findings = findings
        self.evaluatedAt = evaluatedAt
    }

    public var passed: Bool { findings.isEmpty }

    /// The distinct reason codes, in the order first found.
    public var codes: [ReasonCode] {
        var seen = Set<ReasonCode>()
        return findings.map(\.code).filter { seen.insert($0).inserted }
    }

    /// True when the only failures are unreadable sources: the request may be retried later rather than halted.
    public var isOnlySourceUnavailable: Bool {
        !findings.isEmpty && findings.allSatisfy { $0.code == .sourceUnavailable }
    }

    enum CodingKeys: String, CodingKey {
        case stage, findings
        case evaluatedAt = "evaluated_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stage = try c.decode(Stage.self, forKey: .stage)
        findings = try c.decode([GateFinding].self, forKey: .findings)
        evaluatedAt = try c.decodeTimestamp(forKey: .evaluatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(stage, forKey: .stage)
        try c.encode(findings, forKey: .findings)
        try c.encodeTimestamp(evaluatedAt, forKey: .evaluatedAt)
    }
}
