import BreakGlassAMQP
import BreakGlassCore
import BreakGlassEvidence
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// Issue 21: the consumer answers copies of a decided key itself, without a task per copy. Against a real broker:
/// every copy is acked exactly once (a second ack would close the channel and bring copies back), each is counted
/// as a sighting, and the bytes are verified once.
@Suite struct ConsumerDuplicateTests {
    @Test(
        "a burst of copies of a halted key is acked once each and every copy is counted",
        .enabled(if: TestEnvironment.hasRabbitMQ, .init(rawValue: TestEnvironment.skipHint)))
    func copiesOfAHaltedKeyAreAckedAndCounted() async throws {
        let dir = try TestEnvironment.scratchDirectory("consumer-duplicates")
        let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
        let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
        let requestID = "REQ-IT-DUP"
        guard case .claimed(let claim) = try await ledger.claim(key, requestID: requestID, owner: "earlier-worker")
        else {
            Issue.record("a new key is claimed")
            return
        }
        try await ledger.decide(claim, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)))

        let (signer, _) = RequestSigner.generate(keyID: "escalation-it")
        let quiet = Logger(label: "test.consumer-duplicates") { _ in SwiftLogNoOpLogHandler() }
        let evidence = try EvidenceStore(
            root: dir.appendingPathComponent("evidence"), key: EvidenceKey.generate(keyID: "dup-it").key)
        let pipeline = RestorationPipeline(
            configuration: .init(workerID: "dup-it", gatePolicy: GatePolicy()),
            verifier: MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-it": signer.publicKeyRaw])),
            ledger: ledger, sources: InMemoryLiveSources(), console: ScriptedConsole(evidence: evidence),
            evidence: evidence, masker: Masker(), logger: quiet)

        let connection = try await AMQPTestSupport.connect(try AMQPTestSupport.configuration())
        let queue = AMQPTestSupport.uniqueName("duplicates")
        try await connection.declare([.queue(name: queue)])
        let copies = 300
        let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: requestID)
        for _ in 0..<copies {
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: requestID, headers: ["x-breakglass-signature": .string(header)])),
                exchange: "", routingKey: queue)
        }

        var configuration = ConsumerService.Configuration()
        configuration.queue = queue
        configuration.inFlight = 16
        let consumer = ConsumerService(
            connection: connection, pipeline: pipeline, configuration: configuration, logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [consumer], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let drained = try await TestEnvironment.waitUntil(timeout: .seconds(60)) {
                (try? await connection.queueStatus(queue))?.messageCount == 0
                    && consumer.currentInFlight == 0
            }
            #expect(drained, "the queue was not drained")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Unsettled deliveries would be back in the queue now that the consumer's channel is closed.
        #expect(try await connection.queueStatus(queue).messageCount == 0, "every copy was acked")
        #expect(pipeline.verifiedMessagesRemembered == 1, "the bytes were verified once")
        #expect(try ledger.requestSightings(for: key).map(\.count) == [1 + copies], "the claim and every copy")
        #expect(try ledger.entry(for: key)?.state == .halted, "a copy never touches a decided key")
        try? await connection.deleteQueue(queue)
        await connection.close()
    }
}
