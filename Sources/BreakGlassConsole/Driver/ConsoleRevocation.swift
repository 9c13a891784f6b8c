public import BreakGlassCore
public import BreakGlassEvidence

/// How a revocation through the console's revoke screen ended (issue 10), with its evidence bundle.
public struct ConsoleRevocation: Sendable {
    /// `revoked`: the console confirmed and IAM no longer shows the session. `failed`: see `takeover`.
    public var revoked: Bool
    /// Why it could not be confirmed (escalate = true: access may still be active).
    public var takeover: TakeoverRecord?
    public var evidence: EvidenceLocation?
    public var evidenceError: EvidenceError?
    /// Whether the revoke button was pressed.
    public var clicked: Bool

    public init(
        revoked: Bool, takeover: TakeoverRecord?, evidence: EvidenceLocation?, evidenceError: EvidenceError? = nil,
        clicked: Bool
    ) {
        self.revoked = revoked
        self.takeover = takeover
        self.evidence = evidence
        self.evidenceError = evidenceError
        self.clicked = clicked
    }
}
