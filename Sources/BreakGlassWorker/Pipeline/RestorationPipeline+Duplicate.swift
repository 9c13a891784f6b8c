import BreakGlassCore
import BreakGlassLedger
import Foundation

/// A redelivered copy answered without a task of its own (issue 21).
public struct KnownDuplicate: Sendable, Hashable {
    /// Always an ack of a duplicate.
    public let result: PipelineResult
    /// The copy's sighting was counted while no write was under way: the caller runs `writeSightings()` (in a task
    /// of its own, so the copies behind this one are not held by the write).
    public let sightingsDue: Bool
}

extension RestorationPipeline {
    /// The duplicate's fast path, asked by the consumer before it starts a task for a delivery: the exact bytes
    /// were verified in full before, are still within `not_after`, and their key is decided. Such a copy is counted
    /// and its sighting tallied here; the caller acks it. Anything else (new bytes, a forged or re-signed copy, an
    /// undecided key, a ledger that cannot be read now) returns nil and takes `process(_:)`, whose answer for a
    /// copy like this one is the same.
    ///
    /// Nothing here waits for a write: one indexed read of the key's state (none for a final decision already
    /// seen), a SHA-256 of the bytes and a dictionary lookup.
    public func answerKnownDuplicate(_ message: InboundMessage) async -> KnownDuplicate? {
        let now = clock()
        let digest = VerifiedMessageCache.Digest(body: message.body, signatureHeader: message.signatureHeader)
        guard let known = try? await knownDecided(message, digest: digest, now: now) else { return nil }
        let workerSpan = message.trace?.child() ?? (Spans.recorder != nil ? TraceContext.root() : nil)
        metrics.delivery(redelivered: message.redelivered)
        let due = sightings.tally(known.key, requestID: known.requestID)
        let result = PipelineResult(settlement: .ack, result: .duplicate, key: known.key)
        if let workerSpan { recordSpan(workerSpan, message: message, result: result, start: now) }
        metrics.duplicateSuppressed()
        return KnownDuplicate(result: result, sightingsDue: due)
    }

    /// Writes the sightings tallied by `answerKnownDuplicate` (when it said they are due). A failed write keeps
    /// the counts for the next one; the copies were acked on their durable decision, which a lost count never
    /// changes.
    public func writeSightings() async {
        do {
            try await sightings.writeDue()
        } catch {
            logger.warning(
                "could not write duplicates' sightings; they are kept for the next write",
                metadata: ["breakglass.error": "\((error as? LedgerError)?.code.rawValue ?? "\(type(of: error))")"])
        }
    }

    /// The verified entry of `message`'s exact bytes when they are still within `not_after` and their key is
    /// decided; nil otherwise (including a message whose headers were too deep to read: the full path rejects it).
    func knownDecided(
        _ message: InboundMessage, digest: VerifiedMessageCache.Digest, now: Date
    ) async throws -> VerifiedMessageCache.Entry? {
        guard !message.headersTooDeep, let known = verified.entry(for: digest), now < known.notAfter,
            try await ledger.decidedState(for: known.key) != nil
        else { return nil }
        return known
    }
}
