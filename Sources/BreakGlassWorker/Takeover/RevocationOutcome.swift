import BreakGlassConsole
public import BreakGlassCore
public import BreakGlassEvidence

/// How `RestorationPipeline.revoke` ended. `result` is what the ledger recorded and the `revoked` event says.
public struct RevocationOutcome: Sendable {
    public let key: RestorationKey
    public let confirmationID: String
    public let result: RevokedData.Result
    /// Why the revocation could not be confirmed (escalate = true: access may still be active); nil when revoked.
    public let takeover: TakeoverRecord?
    /// The sealed `revocation` bundle; nil only when writing it failed.
    public let evidence: EvidenceLocation?
    /// Whether the console's revoke button was pressed.
    public let clicked: Bool
}
