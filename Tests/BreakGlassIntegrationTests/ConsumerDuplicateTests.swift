import BreakGlassAMQP
import BreakGlassCore
import BreakGlassEvidence
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import Testing

/// Issue 21: the consumer answers copies of a decided key itself, without a task per copy. Against a real broker:
/// every copy is answered and acked exactly once (a second ack would close the channel and bring copies back; an
/// unsettled one comes back when the connection closes), and each is counted as a sighting. A second consumer, fresh,
/// answers the copies of a key another worker claimed from the ledger's record of the verified bytes.
@Suite struct ConsumerDuplicateTests {
    @Test(
        "a burst of copies of a halted key is acked once each and every copy is counted",
        .enabled(if: TestEnvironment.hasRabbitMQ, .init(rawValue: TestEnvironment.skipHint)))
    func copiesOfAHaltedKeyAreAckedAndCounted() async throws {
        let dir = try TestEnvironment.scratchDirectory("consumer-duplicates")
        let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
        let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
        let requestID = "REQ-IT-DUP"
        let (signer, _) = RequestSigner.generate(keyID: "escalation-it")
        let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: requestID)
        let quiet = Logger(label: "test.consumer-duplicates") { _ in SwiftLogNoOpLogHandler() }
        let evidence = try EvidenceStore(
            root: dir.appendingPathComponent("evidence"), key: EvidenceKey.generate(keyID: "dup-it").key)
        func pipeline(_ metrics: WorkerMetrics) -> RestorationPipeline {
            RestorationPipeline(
                configuration: .init(workerID: "dup-it", gatePolicy: GatePolicy()),
                verifier: MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-it": signer.publicKeyRaw])),
                ledger: ledger, sources: InMemoryLiveSources(), console: ScriptedConsole(evidence: evidence),
                evidence: evidence, masker: Masker(), metrics: metrics, logger: quiet)
        }
        // An earlier worker verified the request, claimed its key (remembering the bytes) and halted it.
        let request = try MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-it": signer.publicKeyRaw]))
            .verify(body: body, signatureHeader: header, now: Date())
        let record = VerifiedMessageRecord(
            digest: VerifiedMessageCache.Digest(body: body, signatureHeader: header).bytes, key: key,
            requestID: requestID, notAfter: request.notAfter, keyID: "escalation-it", publicKey: signer.publicKeyRaw)
        guard
            case .claimed(let claim) = try await ledger.claim(
                key, requestID: requestID, owner: "earlier-worker", payload: Data(body), lease: nil, verified: record)
        else {
            Issue.record("a new key is claimed")
            return
        }
        try await ledger.decide(claim, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)))

        let connection = try await AMQPTestSupport.connect(try AMQPTestSupport.configuration())
        let queue = AMQPTestSupport.uniqueName("duplicates")
        try await connection.declare([.queue(name: queue)])
        let copies = 300
        for _ in 0..<copies {
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: requestID, headers: ["x-breakglass-signature": .string(header)])),
                exchange: "", routingKey: queue)
        }

        // A fresh worker: its own connection (closed at the end, so an unsettled copy would go back to the queue).
        let registry = PrometheusCollectorRegistry()
        let fresh = pipeline(WorkerMetrics(registry: registry))
        let consumerConnection = try await AMQPTestSupport.connect(try AMQPTestSupport.configuration())
        var configuration = ConsumerService.Configuration()
        configuration.queue = queue
        configuration.inFlight = 16
        let consumer = ConsumerService(
            connection: consumerConnection, pipeline: fresh, configuration: configuration,
            metrics: WorkerMetrics(registry: registry), logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [consumer], logger: quiet))
        func answered() -> Int {
            registry.emitToString().split(separator: "\n")
                .first { $0.hasPrefix("breakglass_duplicates_suppressed_total ") }
                .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let drained = try await TestEnvironment.waitUntil(timeout: .seconds(60)) { answered() >= copies }
            #expect(drained, "\(answered()) of \(copies) copies answered")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        await consumerConnection.close()
        #expect(answered() == copies, "each copy answered once")
        #expect(try await connection.queueStatus(queue).messageCount == 0, "every copy was acked")
        #expect(try ledger.requestSightings(for: key).map(\.count) == [1 + copies], "the claim and every copy")
        #expect(try ledger.entry(for: key)?.state == .halted, "a copy never touches a decided key")
        try? await connection.deleteQueue(queue)
        await connection.close()
    }
}
