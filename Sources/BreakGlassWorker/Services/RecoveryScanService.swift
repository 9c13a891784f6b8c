import BreakGlassCore
public import Logging
public import ServiceLifecycle

/// Runs the pipeline's recovery scan every `interval`: an in-flight key whose lease lapsed `grace` ago and that no
/// delivery took back becomes a takeover record a person sees (`RestorationPipeline.recoverAbandoned`). Every worker
/// runs it; the ledger's claim lets one of them take each key.
public struct RecoveryScanService: Service {
    let pipeline: RestorationPipeline
    let interval: Duration
    let grace: Duration
    let logger: Logger

    public init(pipeline: RestorationPipeline, interval: Duration, grace: Duration, logger: Logger) {
        self.pipeline = pipeline
        self.interval = interval
        self.grace = grace
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do { try await Task.sleep(for: interval) } catch { return }
                let outcomes = await pipeline.recoverAbandoned(grace: grace)
                for outcome in outcomes {
                    logger.warning(
                        "recovery scan: abandoned key ended",
                        metadata: [
                            "breakglass.case_id": "\(outcome.key.caseID)",
                            "breakglass.tenant_id": "\(outcome.key.tenantID)",
                            "breakglass.previous_state": "\(outcome.previousState.rawValue)",
                            "breakglass.result": "\(outcome.result.result.rawValue)",
                        ])
                }
            }
        }
    }
}
