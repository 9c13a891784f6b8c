import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassSimulator
import BreakGlassWorker
import Foundation
import Logging
import Testing
import BreakGlassEvidence

/// The pipeline as a takeover command runs it: the real simulator (sources + console), a real headless Chromium,
/// a real ledger file and evidence store; messages signed with a test key go through `process` first.
struct TakeoverHarness {
    let console: ConsoleHarness
    let pipeline: RestorationPipeline
    let ledger: SQLiteLedger
    let signer: RequestSigner

    static let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")

    static func run(maximumResumes: Int = 3, _ body: (TakeoverHarness) async throws -> Void) async throws {
        try await ConsoleHarness.run(verificationWindow: .seconds(3)) { h in
            let dir = try TestEnvironment.scratchDirectory("takeover-ledger")
            var ledgerConfiguration = SQLiteLedger.Configuration(path: dir.appendingPathComponent("ledger.sqlite").path)
            ledgerConfiguration.maximumResumes = maximumResumes
            let ledger = try SQLiteLedger(configuration: ledgerConfiguration)
            let (signer, _) = RequestSigner.generate(keyID: "escalation-it")
            let pipeline = RestorationPipeline(
                configuration: .init(workerID: "takeover-it", gatePolicy: GatePolicy()),
                verifier: MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-it": signer.publicKeyRaw])),
                ledger: ledger, sources: h.sources, console: h.driver, evidence: h.driver.evidence,
                masker: h.driver.masker,
                logger: Logger(label: "test.takeover") { _ in ConsoleLogCapture.Handler(capture: h.logs) })
            try await body(TakeoverHarness(console: h, pipeline: pipeline, ledger: ledger, signer: signer))
        }
    }

    /// A signed copy of the sample clean request (CASE-88121 / tnt-4f9a2c), through the pipeline as a delivery.
    func deliver(requestID: String = "REQ-TK-1") async -> PipelineResult {
        let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: requestID)
        return await pipeline.process(InboundMessage(body: body, signatureHeader: header, messageID: requestID))
    }

    func entry() throws -> LedgerEntry { try #require(try ledger.entry(for: Self.key)) }

    func grantCount() async -> Int {
        await console.sim.state.grants(tenantID: nil, externalReference: Self.key.description).count
    }

    /// The outbox events of the key, as (routing key, data object).
    func events() throws -> [(type: String, data: [String: Any])] {
        try ledger.events(for: Self.key).map { entry in
            let object = try JSONSerialization.jsonObject(with: entry.message.body) as? [String: Any] ?? [:]
            return (entry.message.routingKey, object["data"] as? [String: Any] ?? [:])
        }
    }

    func eventTypes() throws -> [String] {
        try events().map { $0.type.replacingOccurrences(of: "breakglass.restoration.", with: "") }
    }

    /// Runs `sql` (or a dot command) on the ledger file with the real `sqlite3` shell; its standard output.
    @discardableResult
    func sqlite(_ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-cmd", ".timeout 5000", ledger.configuration.path, sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw TestEnvironmentError.missing("sqlite3 failed: \(text)") }
        return text
    }

    /// Makes the ledger fail the decision of a run that follows a resume or recover (a real SQLite error from a
    /// trigger): any change of an in-flight row to a decided state is aborted.
    func failDecisionsAfterResume() throws {
        try sqlite(
            """
            CREATE TRIGGER it_fail_decision BEFORE UPDATE OF state ON restorations
            WHEN OLD.state IN ('claimed', 'gate-passed', 'submitting') AND NEW.state IN ('halted', 'granted')
            BEGIN SELECT RAISE(ABORT, 'injected ledger failure'); END;
            """)
    }

    /// The bundle verifies with the evidence key and is of `kind`.
    func expectVerified(
        _ location: EvidenceLocation?, kind: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let path = try #require(location?.path, sourceLocation: sourceLocation)
        let verification = EvidenceVerifier(trustedPublicKey: console.key.publicKeyRaw).verify(
            bundle: URL(fileURLWithPath: path))
        #expect(verification.isValid, "\(verification.problems)", sourceLocation: sourceLocation)
        #expect(verification.manifest?.kind == kind, sourceLocation: sourceLocation)
    }
}
