import BreakGlassCore
import Logging

extension RestorationPipeline {
    /// Counts one terminal decision and logs it at a level that says who must act: an escalated halt (access may have
    /// been granted) is critical, any other halt a warning (a takeover record waits for a person), a grant a notice, a
    /// rejection a notice (the message is dead-lettered; its producer must fix it).
    func recordOutcome(_ result: PipelineResult, logger log: Logger) {
        metrics.outcome(
            result: result.result.rawValue, reasons: result.reasons.map(\.rawValue), escalated: result.escalated)
        var metadata: Logger.Metadata = ["breakglass.result": .string(result.result.rawValue)]
        if !result.reasons.isEmpty {
            metadata["breakglass.reasons"] = .array(result.reasons.map { .string($0.rawValue) })
        }
        if let key = result.key {
            metadata["breakglass.case_id"] = .string(key.caseID)
            metadata["breakglass.tenant_id"] = .string(key.tenantID)
        }
        switch result.result {
        case .halted where result.escalated:
            log.critical(
                "escalated halt: access may have been granted; reconcile the console now (takeover list)",
                metadata: metadata)
        case .halted:
            log.warning("halted: a takeover record waits for a person (takeover list)", metadata: metadata)
        case .granted:
            log.notice("granted", metadata: metadata)
        case .rejected:
            log.notice("rejected and dead-lettered", metadata: metadata)
        case .duplicate, .inProgress, .failed:
            break
        }
    }
}
