import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
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
        let forger = RequestSigner.generate(keyID: "escalation-test").signer
        let forged = InboundMessage(
            body: message.body, signatureHeader: forger.signature(for: message.body).value, redelivered: true)
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
        _ = try await f.ledger.resume(key, by: "alice", note: "tenant reactivated", owner: "w-person")
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
}
