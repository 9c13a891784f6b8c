import BreakGlassConsole
public import BreakGlassCore
public import BreakGlassLedger
public import BreakGlassEvidence

/// How `RestorationPipeline.recover` ended: the abandoned claim it took over and what the run decided.
public struct RecoveryOutcome: Sendable {
    public let key: RestorationKey
    /// The owner whose lease lapsed (a worker or a takeover command that died).
    public let previousOwner: String?
    /// `restart` (nothing reached the final click: the full flow ran again) or `reconcile` (it was `submitting`:
    /// the console's active grants decided, nothing was submitted).
    public let recovery: RestorationStateMachine.Recovery
    /// The sealed `recovery` bundle recording who asked for it and why.
    public let evidence: EvidenceLocation
    public let result: PipelineResult
    public let entry: LedgerEntry?
}
