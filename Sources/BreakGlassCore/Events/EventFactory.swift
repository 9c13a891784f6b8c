public import Foundation

/// Builds the contract's events with their deterministic ids. One place decides what "the same logical
/// event" means:
/// - granted outcome: once per key, ever;
/// - rejected outcome: per message (the SHA-256 of its exact body), so a redelivered or republished copy of
///   the same message maps to the same id;
/// - halted: per key and attempt (an attempt is incremented by each human resume);
/// - evidence-ready: per bundle; revoked: per key and confirmation id (each failed attempt its own); resumed: per takeover id.
public struct EventFactory: Sendable {
    public let source: String

    public init(source: String) {
        self.source = source
    }

    public func granted(
        key: RestorationKey, requestID: String, confirmationID: String, scopes: [String], expiresAt: Date, time: Date
    ) -> CloudEvent<OutcomeData> {
        let data = OutcomeData(
            caseID: key.caseID, tenantID: key.tenantID, requestID: requestID, result: .granted,
            confirmationID: confirmationID, scopes: scopes, expiresAt: Timestamp.format(expiresAt)
        )
        return event(.outcome, subject: key.description, discriminator: "granted", time: time, data: data)
    }

    /// A rejected outcome. `key` and `requestID` are nil when the message could not be read far enough
    /// (a signature failure is rejected before anything is read from the body).
    public func rejected(
        key: RestorationKey?, requestID: String?, bodySHA256: String, reasons: [ReasonCode], scopes: [String] = [],
        time: Date
    ) -> CloudEvent<OutcomeData> {
        let data = OutcomeData(
            caseID: key?.caseID, tenantID: key?.tenantID, requestID: requestID, result: .rejected, scopes: scopes,
            reasons: reasons
        )
        return event(
            .outcome, subject: key?.description ?? "unknown/unknown", discriminator: "rejected:\(bodySHA256)",
            time: time, data: data
        )
    }

    public func halted(
        key: RestorationKey, requestID: String, attempt: Int, stage: HaltedData.Stage, reasons: [ReasonCode],
        escalate: Bool, takeoverID: String, time: Date
    ) -> CloudEvent<HaltedData> {
        let data = HaltedData(
            caseID: key.caseID, tenantID: key.tenantID, requestID: requestID, stage: stage, reasons: reasons,
            escalate: escalate, takeoverID: takeoverID
        )
        return event(.halted, subject: key.description, discriminator: "attempt:\(attempt)", time: time, data: data)
    }

    public func evidenceReady(
        key: RestorationKey, requestID: String, bundleID: String, manifestSHA256: String, location: String,
        artifacts: Int, time: Date
    ) -> CloudEvent<EvidenceReadyData> {
        let data = EvidenceReadyData(
            caseID: key.caseID, tenantID: key.tenantID, requestID: requestID, bundleID: bundleID,
            manifestSHA256: manifestSHA256, location: location, artifacts: artifacts
        )
        return event(
            .evidenceReady, subject: key.description, discriminator: "bundle:\(bundleID)", time: time, data: data)
    }

    /// A revocation. `result: revoked` is one logical event per grant; each `failed` attempt is its own event
    /// (`attempt` names it, e.g. its evidence bundle id), so a later successful revocation is never dropped as
    /// a duplicate of an earlier failure.
    public func revoked(
        key: RestorationKey, confirmationID: String, revokedBy: String, reason: String, result: RevokedData.Result,
        attempt: String? = nil, time: Date
    ) -> CloudEvent<RevokedData> {
        let data = RevokedData(
            caseID: key.caseID, tenantID: key.tenantID, confirmationID: confirmationID, revokedBy: revokedBy,
            reason: reason, result: result
        )
        let discriminator =
            result == .revoked
            ? "confirmation:\(confirmationID)"
            : "confirmation:\(confirmationID):failed:\(attempt ?? Timestamp.format(time, fractional: true))"
        return event(.revoked, subject: key.description, discriminator: discriminator, time: time, data: data)
    }

    public func resumed(
        key: RestorationKey, takeoverID: String, resumedBy: String, note: String, time: Date
    )
        -> CloudEvent<ResumedData>
    {
        let data = ResumedData(
            caseID: key.caseID, tenantID: key.tenantID, takeoverID: takeoverID, resumedBy: resumedBy, note: note)
        return event(
            .resumed, subject: key.description, discriminator: "takeover:\(takeoverID)", time: time, data: data)
    }

    private func event<Payload>(
        _ type: EventType, subject: String, discriminator: String, time: Date, data: Payload
    )
        -> CloudEvent<Payload>
    {
        CloudEvent(
            id: EventID.derive(type: type, subject: subject, discriminator: discriminator), source: source,
            type: type, subject: subject, time: time, data: data, trace: TraceContext.current
        )
    }
}
