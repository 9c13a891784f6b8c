import BreakGlassConsole
public import BreakGlassCore
public import BreakGlassLedger
import Crypto
public import Foundation
public import Logging
import Synchronization
public import BreakGlassEvidence

/// One delivery in, exactly one settlement out: verify → (decided key? ack) → claim → gate → console →
/// decision with its events in the same ledger transaction → settle. The settlement is returned only once the
/// decision (or rejection) and its events are durable, so the caller may ack right away.
///
/// The pipeline never resubmits blindly: a key whose previous owner died at or after the final click is
/// reconciled against the console's active grants instead.
public final class RestorationPipeline: Sendable {
    public struct Configuration: Sendable {
        /// The claim owner and evidence author. Required.
        public var workerID: String
        /// Gate policy (approval age, identity age, skew, required roles override, service identity).
        public var gatePolicy: GatePolicy
        /// CloudEvents `source`. Default `urn:breakglass:worker`.
        public var eventSource: String = "urn:breakglass:worker"
        /// The request queue's `x-delivery-limit`; the last delivery the broker allows ends as `DELIVERY_LIMIT`
        /// when its key is still undecided. Default 10.
        public var deliveryLimit: Int = 10
        /// How long the click and its confirmation (and the IAM check) may take at most: at `submitting` the lease is
        /// extended to cover it, so nobody takes the key over while a click can still land. Default 90 s.
        public var confirmationBound: Duration = .seconds(90)
        /// The lease must still be live by this much when `submitting` is written; otherwise nothing is clicked.
        /// Default 5 s.
        public var submitLeaseMargin: Duration = .seconds(5)
        /// Attempts to write `submitting` when the ledger fails for a reason other than a fence (busy, I/O).
        /// Default 3.
        public var submittingAttempts: Int = 3
        /// The whole gate's upper bound, and the pre-submit recheck's (issue 15.6): a source still unanswered then
        /// is `SOURCE_UNAVAILABLE`, whatever its retry window. Default 20 s.
        public var gateDeadline: Duration = .seconds(20)
        /// The status API's public base URL (`status.public_url`): when set, the `evidence-ready` event's `location`
        /// is `<base>/v1/evidence/<bundle_id>`, a place reachable from outside the writing host; else the bundle's
        /// path on this worker's evidence store.
        public var evidenceLocationBase: String?
        /// How many verified messages the duplicate's fast path remembers (about 150 bytes each). Default 16,384: a
        /// redelivered backlog of that many messages is answered without verifying a copy twice.
        public var verifiedCacheCapacity: Int = 16_384
        /// How often a claim's lease is renewed while its flow runs. Default nil: a third of the ledger's lease.
        public var leaseRenewalInterval: Duration?

        /// The `location` an `evidence-ready` event announces for `evidence`.
        func location(of evidence: EvidenceLocation) -> String {
            guard let base = evidenceLocationBase else { return evidence.path }
            return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/evidence/" + evidence.bundleID
        }

        public init(workerID: String, gatePolicy: GatePolicy) {
            self.workerID = workerID
            self.gatePolicy = gatePolicy
        }
    }

    public let configuration: Configuration
    let verifier: MessageVerifier
    let ledger: any Ledger
    let sources: any LiveSources
    let console: any RestorationConsole
    let evidence: EvidenceStore
    let masker: Masker
    let metrics: WorkerMetrics
    let logger: Logger
    let clock: @Sendable () -> Date
    let events: EventFactory
    /// Messages verified in full before, by digest: a duplicate copy of the same bytes skips Ed25519 and JSON.
    let verified: VerifiedMessageCache
    /// Duplicates' sightings, written in batches.
    let sightings: SightingBatcher
    /// Renews the leases of the claims in flight, from one loop, when run as a service (``WorkerApplication`` does).
    public let leases: LeaseKeeper

    public init(
        configuration: Configuration, verifier: MessageVerifier, ledger: any Ledger, sources: any LiveSources,
        console: any RestorationConsole, evidence: EvidenceStore, masker: Masker,
        metrics: WorkerMetrics = WorkerMetrics(),
        logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.verifier = verifier
        self.ledger = ledger
        self.sources = sources
        self.console = console
        self.evidence = evidence
        self.masker = masker
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.events = EventFactory(source: configuration.eventSource)
        self.verified = VerifiedMessageCache(capacity: configuration.verifiedCacheCapacity)
        self.sightings = SightingBatcher(ledger: ledger)
        self.leases = LeaseKeeper(
            ledger: ledger, renewEvery: configuration.leaseRenewalInterval ?? ledger.leaseDuration / 3)
    }

    /// How many verified messages the duplicate's fast path remembers now.
    public var verifiedMessagesRemembered: Int { verified.count }

    /// Writes the duplicates' sightings still counted in memory (the consumer calls it when it stops).
    public func flushSightings() async {
        await writingSightings("could not write the last duplicates' sightings") { try await sightings.flush() }
    }

    /// Runs a sightings write; a failure is logged (the counts stay pending), never thrown: the copies were answered
    /// on their durable decision.
    func writingSightings(_ failure: Logger.Message, _ write: () async throws -> Void) async {
        do {
            try await write()
        } catch {
            logger.warning(
                failure,
                metadata: ["breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")"])
        }
    }

    public func process(_ message: InboundMessage) async -> PipelineResult {
        metrics.delivery(redelivered: message.redelivered)
        // The request's trace continues in the worker (its own span): every event made for it carries it. Without a
        // trace on the message, spans (when exported) start a trace of their own, and the events carry none.
        let workerSpan = message.trace?.child() ?? (Spans.recorder != nil ? TraceContext.root() : nil)
        let spanStart = Date()
        let result: PipelineResult
        do {
            result = try await TraceContext.$current.withValue(message.trace == nil ? nil : workerSpan) {
                try await Spans.$parent.withValue(workerSpan) { try await decide(message) }
            }
        } catch let error as LedgerError where error.code == .fenced {
            // Our claim was reclaimed (our lease ran out): the new owner decides; this copy is done.
            logger.notice("claim fenced by a newer owner", metadata: ["breakglass.error": "\(error.code)"])
            result = PipelineResult(settlement: .ack, result: .inProgress, key: nil)
        } catch {
            logger.error(
                "could not record the delivery's outcome; requeueing",
                metadata: ["breakglass.error": "\(type(of: error))"])
            result = PipelineResult(settlement: .requeue, result: .failed, key: nil)
        }
        if let workerSpan { recordSpan(workerSpan, message: message, result: result, start: spanStart) }
        switch result.result {
        case .granted, .halted, .rejected:
            recordOutcome(result, logger: logger)
        case .duplicate:
            metrics.duplicateSuppressed()
        case .inProgress, .failed:
            break
        }
        return result
    }

    /// The worker's span of one delivery, with the result's attributes.
    func recordSpan(_ span: TraceContext, message: InboundMessage, result: PipelineResult, start: Date) {
        let attributes = Spans.Attributes()
        attributes["messaging.message.id"] = message.messageID.map { SpanData.Value.string($0) }
        attributes["messaging.rabbitmq.redelivered"] = SpanData.Value.bool(message.redelivered)
        attributes["breakglass.result"] = SpanData.Value.string(result.result.rawValue)
        if let key = result.key {
            attributes["breakglass.case_id"] = SpanData.Value.string(key.caseID)
            attributes["breakglass.tenant_id"] = SpanData.Value.string(key.tenantID)
        }
        if !result.reasons.isEmpty {
            attributes["breakglass.reasons"] = SpanData.Value.string(
                result.reasons.map(\.rawValue).joined(separator: ","))
        }
        if result.result == .failed { attributes.fail("outcome not recorded") }
        Spans.record(
            span, name: "breakglass.restoration process", kind: .consumer, start: start, attributes: attributes)
    }

    private func decide(_ message: InboundMessage) async throws -> PipelineResult {
        let now = clock()
        // The duplicate's fast path (issue 21): the exact bytes were verified in full before, are still within
        // `not_after`, and their key is decided. Exactly the answer the full path would give, without Ed25519 or JSON.
        let digest = VerifiedMessageCache.Digest(body: message.body, signatureHeader: message.signatureHeader)
        if let known = try await knownDecided(message, digest: digest, now: now, askLedger: false) {
            try await sightings.record(known.key, requestID: known.requestID)
            return PipelineResult(settlement: .ack, result: .duplicate, key: known.key)
        }
        let request: RestorationRequest
        do {
            request = try await Spans.with("verify") { span in
                do {
                    let request = try verifier.verify(
                        body: message.body, signatureHeader: message.signatureHeader, now: now)
                    verified.insert(.init(request), for: digest)
                    return request
                } catch let rejection as Rejection {
                    span.fail(rejection.code.rawValue)
                    throw rejection
                }
            }
        } catch let error as Rejection {
            return try await reject(message, error, now: now)
        }
        if message.headersTooDeep {
            return try await reject(
                message, Rejection(.schemaInvalid, "headers: nested deeper than the worker reads"), now: now,
                request: request)
        }
        var log = logger
        log[metadataKey: "breakglass.case_id"] = "\(request.caseID)"
        log[metadataKey: "breakglass.tenant_id"] = "\(request.tenant.id)"
        log[metadataKey: "breakglass.request_id"] = "\(request.requestID)"

        // A decided key never touches the sources or the console again.
        if let state = try await ledger.decidedState(for: request.key) {
            try await sightings.record(request.key, requestID: request.requestID)
            log.debug("duplicate of a decided key", metadata: ["breakglass.state": "\(state.rawValue)"])
            return PipelineResult(settlement: .ack, result: .duplicate, key: request.key)
        }
        if let count = message.deliveryCount, count >= configuration.deliveryLimit - 1,
            try await !ledger.isAbandonedInFlight(request.key)
        {
            // An in-flight key whose owner died (lease lapsed) is claimed and reconciled below instead: rejecting
            // here would strand it with no takeover record.
            log.warning(
                "last delivery the broker allows for an undecided key",
                metadata: ["breakglass.delivery_count": .stringConvertible(count)])
            return try await reject(
                message, Rejection(.deliveryLimit, "x-delivery-count: reached the delivery limit"), now: now,
                request: request)
        }

        let ledger = self.ledger
        let owner = configuration.workerID
        let record = verifiedRecord(request, digest: digest, signatureHeader: message.signatureHeader)
        var outcome = try await Spans.with("claim") { span in
            let outcome = try await ledger.claim(
                request.key, requestID: request.requestID, owner: owner, payload: Data(message.body), lease: nil,
                verified: record)
            switch outcome {
            case .claimed(let claim): span["breakglass.epoch"] = .int(Int(claim.epoch))
            case .decided: span["breakglass.claim"] = .string("decided")
            case .inProgress: span["breakglass.claim"] = .string("in-progress")
            }
            return outcome
        }
        while true {
            switch outcome {
            case .decided:
                return PipelineResult(settlement: .ack, result: .duplicate, key: request.key)
            case .inProgress(let owner, let leaseExpiresAt):
                // Another owner holds the key. It may be alive (a duplicate copy is being processed) or dead
                // (this is its own message, redelivered when its connection dropped). Acking now could lose the
                // only copy of an in-doubt key, so hold this delivery until the owner decides or its lease
                // lapses, then reclaim it (reconciling if it was submitting).
                log.info(
                    "another worker owns the key; waiting for its decision or its lease",
                    metadata: ["breakglass.owner": "\(owner)"])
                let wait = min(2.0, max(0.2, leaseExpiresAt.timeIntervalSince(ledger.clock()) + 0.1))
                do {
                    try await Task.sleep(for: .milliseconds(Int(wait * 1000)))
                } catch {
                    // Shutting down: give the delivery back; whoever gets it next carries on.
                    return PipelineResult(settlement: .requeue, result: .inProgress, key: request.key)
                }
                outcome = try await ledger.claim(
                    request.key, requestID: request.requestID, owner: configuration.workerID,
                    payload: Data(message.body), lease: nil, verified: record)
            case .claimed(let claim):
                CrashPoint.reach(.afterClaim)
                log[metadataKey: "breakglass.epoch"] = "\(claim.epoch)"
                if claim.recovery == .reconcile {
                    return try await reconcile(request, claim: claim, logger: log)
                }
                return try await run(request, claim: claim, logger: log)
            }
        }
    }

    // MARK: - Rejection

    private func reject(
        _ message: InboundMessage, _ rejection: Rejection, now: Date, request: RestorationRequest? = nil
    ) async throws -> PipelineResult {
        // A signature failure is rejected before anything is read from the body; an expired or over-limit
        // request was authenticated and decoded, so its key is known.
        var known = request
        if known == nil, rejection.code == .requestExpired {
            known = try? RequestDecoder.decode(message.body)
        }
        let bodyHash = SHA256.hash(data: message.body).map { String(format: "%02x", $0) }.joined()
        let event = events.rejected(
            key: known?.key, requestID: known?.requestID, bodySHA256: bodyHash, reasons: [rejection.code],
            scopes: known?.privilege.scopes ?? [], time: now)
        let outbox = OutboxMessage(event, key: known?.key ?? .unknown)
        if let known {
            switch try await ledger.reject(
                known.key, requestID: known.requestID, reasons: [rejection.code], events: [outbox])
            {
            case .rejected: break
            case .keyBusy: try await ledger.enqueueEvents([outbox])
            }
        } else {
            try await ledger.enqueueEvents([outbox])
        }
        logger.notice(
            "message rejected",
            metadata: [
                "breakglass.reason": "\(rejection.code.rawValue)", "breakglass.detail": "\(rejection.detail)",
                "breakglass.case_id": "\(known?.caseID ?? "-")",
            ])
        return PipelineResult(settlement: .deadLetter, result: .rejected, key: known?.key, reasons: [rejection.code])
    }

    // MARK: - Gate and console

    /// Gate → console → decision under `claim`. `resumeDraftID`: the draft an earlier halt saved (takeover resume).
    func run(
        _ request: RestorationRequest, claim: Claim, logger log: Logger, resumeDraftID: String? = nil
    ) async throws -> PipelineResult {
        let gateStarted = ContinuousClock.now
        // The lease is renewed during the gate too: slow sources must not let the claim lapse under us.
        let sources = self.sources
        let policy = configuration.gatePolicy
        let clock = self.clock
        let deadline = configuration.gateDeadline
        let (gate, snapshot) = await withLeaseRenewal(ClaimBox(claim), logger: log) {
            await Spans.with("gate") { span in
                let answer = await sources.gate(request, policy: policy, clock: clock, deadline: deadline)
                if !answer.0.passed { span.fail(answer.0.codes.map(\.rawValue).joined(separator: ",")) }
                return answer
            }
        }
        metrics.gate(seconds: Self.seconds(since: gateStarted))
        let approvalRefs = request.approvals.map(\.approvalID)
        guard gate.passed else {
            log.info(
                "halted at the gate", metadata: ["breakglass.reasons": .array(gate.codes.map { .string($0.rawValue) })])
            let record = TakeoverRecord(
                reasons: gate.codes, stage: .gate, escalate: false, approvalRefs: approvalRefs,
                note: gate.findings.map(\.description).joined(separator: "; "))
            var recorder = EvidenceRecorder(
                caseID: request.caseID, tenantID: request.tenant.id, requestID: request.requestID,
                workerID: configuration.workerID, masker: masker)
            recorder.document("request.json", request)
            recorder.document("gate.json", gate)
            recorder.document("sources.json", snapshot)
            recorder.document("takeover.json", record)
            recorder.step(
                "gate", action: "recheck live sources", outcome: "failed",
                detail: gate.findings.map(\.description).joined(separator: "; "))
            let bundle = recorder.bundle(kind: "restoration", outcome: "halted", reasons: gate.codes.map(\.rawValue))
            return try await finish(
                request, claim: claim, .halted(record), evidence: await writeEvidence(bundle, logger: log))
        }
        let gated = ClaimBox(try await ledger.passGate(claim, approvalRefs: approvalRefs, checkedAt: gate.evaluatedAt))
        CrashPoint.reach(.afterGate)
        let refusal = SubmittingRefusal()
        var hooks = SubmissionHooks.live(
            sources: sources, policy: configuration.gatePolicy, deadline: configuration.gateDeadline
        ) {
            try await Spans.with("submitting") { _ in
                try await self.recordSubmitting(gated, refusal: refusal, logger: log)
            }
            CrashPoint.reach(.beforeClick)
        }
        // The last check before the click, from memory: the lease written with `submitting` must still cover the
        // confirmation bound (a process frozen after `submitting` must not click once someone may have taken over).
        let bound = Self.seconds(configuration.confirmationBound)
        let leaseClock = ledger.clock
        let ledger = self.ledger
        hooks.clickAllowed = {
            let current = gated.withLock { $0 }
            // The ledger still says this claim is the one submitting (one read, no lock): a process stopped and
            // resumed here must not click for a key someone else has reclaimed or decided meanwhile, whatever its
            // memory says (a CI run saw a thawed worker click after a takeover and a person's resume).
            guard let entry = try? await ledger.entry(for: current.key) else {
                return "the ledger could not be read before the click"
            }
            guard entry.epoch == current.epoch, entry.state == .submitting else {
                return "the key was reclaimed (epoch \(entry.epoch), state \(entry.state.rawValue)) before the click"
            }
            // Then the lease, by the ledger's clock AFTER that read: the read may have hung (a host cut off from the
            // ledger got its answer when the link came back, 19 s past its lease, and clicked on it). The row's lease
            // is the one that counts; only this owner can extend it, and never once it lapsed.
            let expiresAt = entry.leaseExpiresAt ?? current.leaseExpiresAt
            let left = expiresAt.timeIntervalSince(leaseClock())
            guard left > bound else {
                return "the claim's lease has \(Int(left)) s left, less than the confirmation bound"
            }
            // What the click was allowed on, for the record (a thawed worker once clicked after a person's resume
            // although both checks above should have refused it: this line says what they saw).
            log.notice(
                "click allowed",
                metadata: [
                    "breakglass.epoch": "\(current.epoch)", "breakglass.ledger_epoch": "\(entry.epoch)",
                    "breakglass.ledger_state": "\(entry.state.rawValue)",
                    "breakglass.lease_left_s": .stringConvertible(Int(left)),
                    "breakglass.bound_s": .stringConvertible(Int(bound)),
                ])
            return nil
        }
        let consoleStarted = ContinuousClock.now
        // The claim's lease is renewed while the console flow runs, so a slow console never lets a live claim
        // lapse (another worker would then take the key over). The renewal stops with the flow.
        let flowHooks = hooks
        let outcome = await withLeaseRenewal(gated, logger: log) {
            await Spans.with("console") { span in
                let outcome = await self.console.submit(
                    request, hooks: flowHooks, gate: gate, sources: snapshot, resumeDraftID: resumeDraftID)
                if case .halted(let record) = outcome.decisionInput {
                    span.fail(record.reasons.map(\.rawValue).joined(separator: ","))
                }
                return outcome
            }
        }
        metrics.console(seconds: Self.seconds(since: consoleStarted))
        if let window = outcome.recheckToClick { metrics.recheckToClick(seconds: window) }
        if outcome.beforeSubmitRefused {
            // Nothing was clicked. Only a real fence (a newer epoch owns the key) ends this delivery as "someone
            // else decides"; any other refusal (our lease lapsed, the ledger failed) must end in a durable halt,
            // or, when even that cannot be written, the delivery is kept for a later attempt (never acked bare).
            if let error = refusal.error, error.code == .fenced {
                log.notice("submitting refused: a newer owner holds the key; leaving it to them")
                return PipelineResult(settlement: .ack, result: .inProgress, key: request.key)
            }
            log.warning(
                "submitting could not be recorded; halting before the click",
                metadata: [
                    "breakglass.error": "\(refusal.error?.code.rawValue ?? "unknown")"
                ])
        }
        return try await finish(
            request, claim: gated.withLock { $0 }, outcome.decisionInput, evidence: outcome.evidence)
    }

    /// Writes `submitting` (fenced by the epoch, refused unless the lease is live with a margin; the lease is extended
    /// over the confirmation bound). A ledger failure other than a fence or a lapsed lease is retried a few times with
    /// a short backoff; the final error is kept in `refusal` for the pipeline to judge.
    func recordSubmitting(_ box: ClaimBox, refusal: SubmittingRefusal, logger log: Logger) async throws {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let current = box.withLock { $0 }
                let submitting = try await ledger.beginSubmitting(
                    current, recheckedAt: clock(),
                    margin: min(configuration.submitLeaseMargin, ledger.leaseDuration / 3),
                    extendBy: ledger.leaseDuration + configuration.confirmationBound)
                box.withLock { $0 = submitting }
                return
            } catch let error as LedgerError {
                let retryable = error.code == .database && attempt < configuration.submittingAttempts
                log.warning(
                    "could not record submitting",
                    metadata: [
                        "breakglass.error": "\(error.code.rawValue)", "breakglass.attempt": .stringConvertible(attempt),
                        "breakglass.retrying": .stringConvertible(retryable),
                    ])
                guard retryable else {
                    refusal.set(error)
                    throw error
                }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            } catch {
                refusal.set(
                    LedgerError.database(box.withLock { $0.key }, detail: "\(type(of: error))", underlying: error))
                throw error
            }
        }
    }

    /// Runs `body` while the claim's lease is renewed every third of the lease: by ``leases`` when it runs, with no
    /// task or timer of this flow's own, else by a renewal task beside `body`.
    func withLeaseRenewal<T: Sendable>(
        _ box: ClaimBox, logger log: Logger, _ body: @escaping @Sendable () async -> T
    ) async -> T {
        guard let registration = leases.register(box, logger: log) else {
            return await renewingAlone(box, logger: log, body)
        }
        defer { leases.unregister(registration) }
        // A cancelled flow is no longer renewed (as its own renewal task used to stop): if it ignores cancellation,
        // its lease lapses and the key can be recovered.
        let leases = self.leases
        return await withTaskCancellationHandler {
            await body()
        } onCancel: {
            leases.unregister(registration)
        }
    }

    /// `withLeaseRenewal` without the keeper's loop (a takeover command, a pipeline built alone): a renewal task beside
    /// `body`, renewing as the loop does (`LeaseKeeper.renewOnce`).
    func renewingAlone<T: Sendable>(
        _ box: ClaimBox, logger log: Logger, _ body: @escaping @Sendable () async -> T
    ) async -> T {
        let leases = self.leases
        return await withTaskGroup(of: T?.self) { group in
            group.addTask {
                var next = LeaseKeeper.Next.again(after: leases.renewEvery, failures: 0)
                while case .again(let delay, let failures) = next, !Task.isCancelled {
                    do {
                        try await DeadlineTimers.shared.sleep(for: delay)
                    } catch {
                        return nil
                    }
                    next = await leases.renewOnce(box, failures: failures, logger: log)
                }
                return nil
            }
            group.addTask { await body() }
            var result: T?
            for await value in group where value != nil {
                result = value
                group.cancelAll()
            }
            return result!
        }
    }

    /// In-doubt recovery under `claim`: reconcile against the console, never resubmit.
    func reconcile(_ request: RestorationRequest, claim: Claim, logger log: Logger) async throws -> PipelineResult {
        log.warning("in-doubt request: reconciling against the console, never resubmitting")
        let sources = self.sources
        let outcome = await console.reconcile(request) { tenantID, confirmationID in
            await SubmissionHooks.iamShows(sources: sources, tenantID: tenantID, confirmationID: confirmationID)
        }
        return try await finish(request, claim: claim, outcome.decisionInput, evidence: outcome.evidence)
    }

    /// The decision and its events (outcome or halted, then evidence-ready) in one ledger transaction.
    private func finish(
        _ request: RestorationRequest, claim: Claim, _ input: DecisionInput, evidence: EvidenceLocation?
    ) async throws -> PipelineResult {
        let now = clock()
        var outbox: [OutboxMessage] = []
        let result: PipelineResult
        switch input {
        case .granted(let confirmationID, let expiresAt, _):
            let expiry = expiresAt ?? now.addingTimeInterval(TimeInterval(request.privilege.durationMinutes * 60))
            outbox.append(
                OutboxMessage(
                    events.granted(
                        key: request.key, requestID: request.requestID, confirmationID: confirmationID,
                        scopes: request.privilege.scopes, expiresAt: expiry, time: now), key: request.key))
            result = PipelineResult(settlement: .ack, result: .granted, key: request.key)
        case .halted(let record):
            outbox.append(
                OutboxMessage(
                    events.halted(
                        key: request.key, requestID: request.requestID, attempt: claim.resumeCount,
                        stage: record.stage, reasons: record.reasons, escalate: record.escalate,
                        takeoverID: claim.takeoverID, time: now), key: request.key))
            result = PipelineResult(
                settlement: .ack, result: .halted, key: request.key, reasons: record.reasons, escalated: record.escalate
            )
        case .rejected(let reasons):
            result = PipelineResult(settlement: .deadLetter, result: .rejected, key: request.key, reasons: reasons)
        }
        if let evidence {
            outbox.append(
                OutboxMessage(
                    events.evidenceReady(
                        key: request.key, requestID: request.requestID, bundleID: evidence.bundleID,
                        manifestSHA256: evidence.manifestSHA256, location: configuration.location(of: evidence),
                        artifacts: evidence.artifactCount,
                        time: now), key: request.key))
        }
        let ledger = self.ledger
        let events = outbox
        try await Spans.with("decision") { span in
            span["breakglass.result"] = .string(result.result.rawValue)
            try await ledger.decide(claim, input, events: events)
        }
        CrashPoint.reach(.afterDecision)
        return result
    }

    private func writeEvidence(_ bundle: EvidenceBundle, logger log: Logger) async -> EvidenceLocation? {
        do {
            return try await evidence.commit(bundle)
        } catch {
            log.error("evidence bundle could not be written", metadata: ["breakglass.error": "\(error.code)"])
            return nil
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func json(_ value: some Encodable) -> Data {
        (try? SortedJSONEncoder(.pretty).encode(value)) ?? Data()
    }
}

/// Why `submitting` was refused, kept for the pipeline (the console only reports "refused").
final class SubmittingRefusal: Sendable {
    private let value = Mutex<LedgerError?>(nil)
    var error: LedgerError? { value.withLock { $0 } }
    func set(_ error: LedgerError) { value.withLock { $0 = error } }
}

/// The current claim of one flow, shared by the submit hook and the lease renewal.
final class ClaimBox: Sendable {
    private let claim: Mutex<Claim>

    init(_ claim: Claim) {
        self.claim = Mutex(claim)
    }

    func withLock<T>(_ body: (inout Claim) -> T) -> T {
        claim.withLock { body(&$0) }
    }

    /// A renewal's answer: kept only when the claim is still the one renewed. `submitting`, written meanwhile,
    /// holds a newer state and its own extended lease, which a renewal read before it must not overwrite.
    func replace(_ renewedFrom: Claim, with renewed: Claim) {
        claim.withLock { if $0 == renewedFrom { $0 = renewed } }
    }
}

extension ConsoleOutcome {
    /// The ledger decision for this console outcome.
    var decisionInput: DecisionInput {
        switch result {
        case .granted(let grant):
            .granted(
                confirmationID: grant.confirmationID, expiresAt: grant.expiresAt.flatMap(Timestamp.parse),
                reconciled: grant.byReconciliation)
        case .halted(let record):
            .halted(record)
        }
    }
}

extension OutboxMessage {
    /// The outbox form of an event: its id, type as routing key, encoded body.
    public init(_ event: CloudEvent<some Encodable & Sendable>, key: RestorationKey) {
        self.init(eventID: event.id, routingKey: event.type.rawValue, body: event.encoded(), key: key)
    }
}

extension RestorationKey {
    /// Outbox ordering key for events of messages whose key could not be trusted.
    static let unknown = RestorationKey(caseID: "unknown", tenantID: "unknown")
}
