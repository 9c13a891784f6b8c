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
        // What the full path refuses before it hashes anything is left to it: no work, no ledger read for junk.
        guard message.body.count <= RestorationRequest.maximumBodySize, message.signatureHeader?.isEmpty == false
        else { return nil }
        let now = clock()
        let digest = VerifiedMessageCache.Digest(body: message.body, signatureHeader: message.signatureHeader)
        guard let known = try? await knownDecided(message, digest: digest, now: now, askLedger: true) else {
            return nil
        }
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
        await writingSightings("could not write duplicates' sightings; they are kept for the next write") {
            try await sightings.writeDue()
        }
    }

    /// The verified entry of `message`'s exact bytes when they are still within `not_after` and their key is
    /// decided; nil otherwise (including a message whose headers were too deep to read: the full path rejects it).
    ///
    /// `askLedger`: bytes this process never verified are looked up in the ledger too, where the claim of whichever
    /// worker verified them remembered them (`VerifiedMessageRecord`); such a record answers only while the public
    /// key that verified it is still the trusted key of its id.
    func knownDecided(
        _ message: InboundMessage, digest: VerifiedMessageCache.Digest, now: Date, askLedger: Bool
    ) async throws -> VerifiedMessageCache.Entry? {
        guard !message.headersTooDeep else { return nil }
        if let known = verified.entry(for: digest) {
            guard now < known.notAfter, try await ledger.decidedState(for: known.key) != nil else { return nil }
            return known
        }
        // Only a header naming a trusted key can match a record; anything else is not worth a ledger read.
        guard askLedger,
            let keyID = message.signatureHeader.flatMap({ try? SignatureHeader(parsing: $0).keyID }),
            verifier.trustedKeys.contains(keyID),
            let stored = try await ledger.knownMessage(digest: digest.bytes),
            stored.decidedState != nil, now < stored.record.notAfter,
            // The digest covers the signature header, so its key id is the record's.
            verifier.trustedKeys.rawKey(stored.record.keyID) == stored.record.publicKey
        else { return nil }
        let entry = VerifiedMessageCache.Entry(
            key: stored.record.key, requestID: stored.record.requestID, notAfter: stored.record.notAfter)
        verified.insert(entry, for: digest)
        return entry
    }

    /// What the claim remembers of a message this worker verified in full (nil when its header names no trusted key,
    /// which `verify` has already refused).
    func verifiedRecord(
        _ request: RestorationRequest, digest: VerifiedMessageCache.Digest, signatureHeader: String?
    ) -> VerifiedMessageRecord? {
        guard let header = signatureHeader.flatMap({ try? SignatureHeader(parsing: $0) }),
            let publicKey = verifier.trustedKeys.rawKey(header.keyID)
        else { return nil }
        return VerifiedMessageRecord(
            digest: digest.bytes, key: request.key, requestID: request.requestID, notAfter: request.notAfter,
            keyID: header.keyID, publicKey: publicKey)
    }
}
