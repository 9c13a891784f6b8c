import BreakGlassConsole
public import BreakGlassCore
public import BreakGlassLedger
public import BreakGlassEvidence

/// How `RestorationPipeline.resume` ended: the takeover it resolved, the evidence of the person's decision, and
/// the result of running the request again (granted, halted again, or left to a newer owner).
public struct ResumeOutcome: Sendable {
    public let key: RestorationKey
    /// The takeover the person resolved (`CASE/TENANT#n`).
    public let takeoverID: String
    /// The sealed `resume` bundle recording who resumed, why, and from which takeover.
    public let resumeEvidence: EvidenceLocation
    /// The `grant-check` bundle of the console reconciliation (escalated halts only).
    public let grantCheckEvidence: EvidenceLocation?
    /// The run under the resumed claim.
    public let result: PipelineResult
    /// The ledger row afterwards.
    public let entry: LedgerEntry?
}
