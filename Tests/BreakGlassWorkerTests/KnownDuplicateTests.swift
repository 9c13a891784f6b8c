import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import Testing

/// Issue 21: the consumer answers a copy of a decided key without a task of its own (`answerKnownDuplicate`). It may
/// answer only what `process(_:)` would answer for that copy; everything else must be left to `process(_:)`.
@Suite struct KnownDuplicateTests {
    let key = PipelineFixture.key

    @Test func onlyACopyOfVerifiedBytesOfADecidedKeyIsAnswered() async throws {
        let f = try PipelineFixture()
        let message = PipelineFixture.message()
        #expect(await f.pipeline.answerKnownDuplicate(message) == nil, "never verified: the full path")
        #expect(await f.pipeline.process(message).result == .granted)
        let known = try #require(await f.pipeline.answerKnownDuplicate(message))
        #expect(known.result == PipelineResult(settlement: .ack, result: .duplicate, key: key))
        #expect(known.sightingsDue, "no write under way: this copy owes it")
        await f.pipeline.writeSightings()
        #expect(try f.ledger.requestSightings(for: key).map(\.count) == [2], "the claim and the copy")
        #expect(f.console.clicks(key) == 1)

        // Other bytes are never taken for the verified ones: a forged signature, an altered body, too-deep headers.
        let forged = PipelineFixture.forgedCopy(of: message)
        #expect(await f.pipeline.answerKnownDuplicate(forged) == nil)
        #expect(await f.pipeline.process(forged).reasons == [.signatureInvalid])
        var body = message.body
        body[body.count - 2] = UInt8(ascii: " ")
        let altered = InboundMessage(body: body, signatureHeader: message.signatureHeader, redelivered: true)
        #expect(await f.pipeline.answerKnownDuplicate(altered) == nil)
        var deep = message
        deep.headersTooDeep = true
        #expect(await f.pipeline.answerKnownDuplicate(deep) == nil)
        #expect(await f.pipeline.process(deep).result == .rejected)
    }

    @Test func anExpiredCopyIsLeftToTheFullPath() async throws {
        let clock = ManualClock()
        let f = try PipelineFixture(clock: clock)
        let message = PipelineFixture.message(lifetime: 600)
        #expect(await f.pipeline.process(message).result == .granted)
        #expect(await f.pipeline.answerKnownDuplicate(message) != nil)
        clock.advance(by: 700)
        #expect(await f.pipeline.answerKnownDuplicate(message) == nil)
        #expect(await f.pipeline.process(message).result == .rejected)
    }

    /// A halted key is decided only until a person resumes it: the copy must then get the full path's answer (hold
    /// until the new owner decides), so the fast path asks the ledger every time instead of remembering "halted".
    @Test func aHaltedKeyResumedByAPersonIsNoLongerAnsweredAsADuplicate() async throws {
        let f = try PipelineFixture()
        f.sources.put(TenantRecord(tenantID: key.tenantID, name: "Acme Corp", status: .suspended))
        let message = PipelineFixture.message()
        #expect(await f.pipeline.process(message).result == .halted)
        let reads = f.interposed.decidedStateReads
        #expect(await f.pipeline.answerKnownDuplicate(message)?.result.result == .duplicate)
        #expect(await f.pipeline.answerKnownDuplicate(message)?.result.result == .duplicate)
        #expect(f.interposed.decidedStateReads - reads == 2, "read each time, never remembered")
        // The person resumes it from another process (the CLI): nothing in this worker's ledger instance hears of it.
        let person = try SQLiteLedger(
            configuration: .init(path: f.directory.appendingPathComponent("ledger.sqlite").path))
        _ = try await person.resume(key, by: "alice", note: "tenant reactivated", owner: "w-person")
        #expect(await f.pipeline.answerKnownDuplicate(message) == nil)
    }

    @Test func sightingsTalliedWhileTheirWriteFailsAreKeptForTheNextWrite() async throws {
        let f = try PipelineFixture()
        let message = PipelineFixture.message()
        #expect(await f.pipeline.process(message).result == .granted)
        f.interposed.setFailingSightingWrites(true)
        let first = try #require(await f.pipeline.answerKnownDuplicate(message))
        #expect(first.result.settlement == .ack, "acked on its durable decision; the count is not the decision")
        #expect(first.sightingsDue)
        await f.pipeline.writeSightings()
        let second = try #require(await f.pipeline.answerKnownDuplicate(message))
        #expect(second.sightingsDue, "a failed write leaves no writer behind")
        f.interposed.setFailingSightingWrites(false)
        await f.pipeline.writeSightings()
        #expect(try f.ledger.requestSightings(for: key).map(\.count) == [3], "the claim and both copies")
    }

    /// A fresh worker (after an outage) never verified these bytes, but the claim of the worker that did remembered
    /// them in the ledger: copies of the decided key are answered from that record, while the same key is trusted.
    @Test func aFreshWorkerAnswersCopiesFromTheRecordTheClaimLeft() async throws {
        let f = try PipelineFixture()
        let message = PipelineFixture.message()
        #expect(await f.pipeline.process(message).result == .granted)
        let fresh = try PipelineFixture(directory: f.directory)
        #expect(fresh.pipeline.verifiedMessagesRemembered == 0)
        let known = try #require(await fresh.pipeline.answerKnownDuplicate(message))
        #expect(known.result == PipelineResult(settlement: .ack, result: .duplicate, key: key))
        #expect(fresh.interposed.knownMessageReads == 1)
        #expect(fresh.pipeline.verifiedMessagesRemembered == 1, "remembered in memory from then on")
        #expect(await fresh.pipeline.answerKnownDuplicate(message) != nil)
        #expect(fresh.interposed.knownMessageReads == 1, "the second copy is answered from memory")

        // A forged signature over the same body is other bytes: not in the ledger, verified, rejected.
        let forged = PipelineFixture.forgedCopy(of: message)
        let third = try PipelineFixture(directory: f.directory)
        #expect(await third.pipeline.answerKnownDuplicate(forged) == nil)
        #expect(await third.pipeline.process(forged).reasons == [.signatureInvalid])
    }

    /// The key id that verified the bytes now names another public key (rotated): the record no longer answers, and
    /// the full path refuses the copy as it would any message signed with a key no longer trusted.
    @Test func aRecordVerifiedWithAKeyNoLongerTrustedAnswersNothing() async throws {
        let f = try PipelineFixture()
        let message = PipelineFixture.message()
        #expect(await f.pipeline.process(message).result == .granted)
        let rotated = RequestSigner.generate(keyID: "escalation-test").signer
        let pipeline = RestorationPipeline(
            configuration: .init(workerID: "w-rotated", gatePolicy: GatePolicy()),
            verifier: MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-test": rotated.publicKeyRaw])),
            ledger: f.interposed, sources: f.sources, console: f.console, evidence: f.evidence, masker: Masker(),
            logger: Logger(label: "test.rotated") { _ in SwiftLogNoOpLogHandler() })
        #expect(await pipeline.answerKnownDuplicate(message) == nil)
        #expect(await pipeline.process(message).reasons == [.signatureInvalid])
    }

    @Test func aRecordPastItsNotAfterAnswersNothing() async throws {
        let clock = ManualClock()
        let f = try PipelineFixture(clock: clock)
        let message = PipelineFixture.message(lifetime: 600)
        #expect(await f.pipeline.process(message).result == .granted)
        clock.advance(by: 700)
        let fresh = try PipelineFixture(directory: f.directory, clock: clock)
        #expect(await fresh.pipeline.answerKnownDuplicate(message) == nil)
        #expect(await fresh.pipeline.process(message).result == .rejected)
    }
}
