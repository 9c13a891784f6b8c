import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import Synchronization
import Testing
import BreakGlassEvidence

/// A pipeline with nothing external: in-memory live sources that pass the gate, the scripted console, a ledger in a
/// temp file, a real evidence store and a generated signing key. Tests break one thing at a time.
struct PipelineFixture {
    static let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
    static let roles = ["incident-command", "security", "customer-account-authority"]
    static let approvers = ["u-ic-12", "u-sec-3", "c-ceo-1"]
    static let packetSHA = String(repeating: "ab", count: 32)

    let directory: URL
    let ledger: SQLiteLedger
    /// What the pipeline holds: `ledger`, through a forwarder a test can stall inside a call.
    let interposed: InterposedLedger
    let sources: InMemoryLiveSources
    let console: ScriptedConsole
    let evidence: EvidenceStore
    let signer: RequestSigner
    let pipeline: RestorationPipeline
    let workerID: String

    /// `ledger` adjusts the ledger configuration (lease, clock); `pipeline` the pipeline's.
    init(
        workerID: String = "w-test", directory: URL? = nil,
        ledger adjustLedger: (inout SQLiteLedger.Configuration) -> Void = { _ in },
        pipeline adjustPipeline: (inout RestorationPipeline.Configuration) -> Void = { _ in },
        console existingConsole: ScriptedConsole? = nil, sources existingSources: InMemoryLiveSources? = nil,
        clock: ManualClock? = nil
    ) throws {
        self.workerID = workerID
        let dir = try directory ?? Self.scratchDirectory()
        self.directory = dir
        var ledgerConfiguration = SQLiteLedger.Configuration(path: dir.appendingPathComponent("ledger.sqlite").path)
        // The pipeline tests' lease is 60 s whatever the product default (120 s): their clock steps are sized to it.
        ledgerConfiguration.leaseDuration = .seconds(60)
        if let clock { ledgerConfiguration.clock = { clock.now } }
        adjustLedger(&ledgerConfiguration)
        ledger = try SQLiteLedger(configuration: ledgerConfiguration)
        interposed = InterposedLedger(ledger)
        let (key, _) = EvidenceKey.generate(keyID: "evidence-test")
        evidence = try EvidenceStore(root: dir.appendingPathComponent("evidence"), key: key)
        sources = existingSources ?? Self.passingSources()
        console = existingConsole ?? ScriptedConsole(evidence: evidence, workerID: workerID)
        signer = Self.signer
        var configuration = RestorationPipeline.Configuration(workerID: workerID, gatePolicy: GatePolicy())
        adjustPipeline(&configuration)
        let now: @Sendable () -> Date
        if let clock { now = { clock.now } } else { now = { Date() } }
        pipeline = RestorationPipeline(
            configuration: configuration,
            verifier: MessageVerifier(trustedKeys: TrustedKeys(raw: ["escalation-test": Self.signer.publicKeyRaw])),
            ledger: interposed, sources: sources, console: console, evidence: evidence, masker: Masker(),
            logger: Logger(label: "test.pipeline") { _ in SwiftLogNoOpLogHandler() },
            clock: now)
    }

    static let signer = RequestSigner.generate(keyID: "escalation-test").signer

    static func scratchDirectory() throws -> URL {
        // Under the test run's temp dir when scripts/test set one (it is removed at the end), else the system's.
        let base =
            ProcessInfo.processInfo.environment["BREAKGLASS_TEST_TMP"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        let dir = base.appendingPathComponent("bg-pipeline-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Live sources under which the sample request passes the gate now.
    static func passingSources(now: Date = Date()) -> InMemoryLiveSources {
        let sources = InMemoryLiveSources()
        sources.put(
            CaseRecord(
                caseID: key.caseID, status: .open, tenantID: key.tenantID, incidentID: "INC-5521",
                requesterAdminID: "adm-7781",
                packet: .init(id: "PKT-77", sha256: packetSHA),
                approvedScopes: ["admins.restore", "users.reset-mfa", "audit.read"], approvedDurationMinutes: 180,
                approvals: zip(roles, approvers).enumerated().map { index, pair in
                    .init(
                        approvalID: "APR-\(index + 1)", role: pair.0, approverID: pair.1, status: .approved,
                        approvedAt: now.addingTimeInterval(-3600), expiresAt: now.addingTimeInterval(7200))
                }))
        sources.put(TenantRecord(tenantID: key.tenantID, name: "Acme Corp", status: .active))
        sources.put(IncidentRecord(incidentID: "INC-5521", status: .active, tenantIDs: [key.tenantID]))
        sources.put(
            IdentityAssurance(
                ref: "IDV-9912", adminID: "adm-7781", verified: true, verifiedAt: now.addingTimeInterval(-1800)))
        sources.put(
            IAMAdminState(
                activeBreakglassSessions: [],
                policy: .init(maxDurationMinutes: 240, requiredApprovalRoles: roles),
                directoryRoles: [
                    "u-ic-12": ["incident-command"], "u-sec-3": ["security"], "c-ceo-1": ["customer-account-authority"],
                ]),
            tenantID: key.tenantID)
        return sources
    }

    /// The sample request's signed body (valid for `lifetime` from now).
    static func signedRequest(
        requestID: String = "REQ-T-1", lifetime: TimeInterval = 1800
    ) -> (body: [UInt8], header: String) {
        let now = Date()
        let body = """
            {"schema":"breakglass.restoration.approved/v1","request_id":"\(requestID)","case_id":"\(key.caseID)",\
            "tenant":{"id":"\(key.tenantID)","name":"Acme Corp"},"incident":{"id":"INC-5521"},\
            "requester":{"admin_id":"adm-7781","identity_assurance_ref":"IDV-9912"},\
            "privilege":{"role":"tenant-admin","scopes":["admins.restore","users.reset-mfa"],"duration_minutes":120},\
            "approvals":[{"role":"incident-command","approval_id":"APR-1","approver_id":"u-ic-12"},\
            {"role":"security","approval_id":"APR-2","approver_id":"u-sec-3"},\
            {"role":"customer-account-authority","approval_id":"APR-3","approver_id":"c-ceo-1"}],\
            "packet":{"id":"PKT-77","sha256":"\(packetSHA)"},\
            "enqueued_at":"\(Timestamp.format(now))","not_after":"\(Timestamp.format(now.addingTimeInterval(lifetime)))"}
            """
        let bytes = Array(body.utf8)
        return (bytes, signer.signature(for: bytes).value)
    }

    static func message(
        requestID: String = "REQ-T-1", deliveryCount: Int? = nil, lifetime: TimeInterval = 1800
    ) -> InboundMessage {
        let (body, header) = signedRequest(requestID: requestID, lifetime: lifetime)
        return InboundMessage(
            body: body, signatureHeader: header, messageID: requestID,
            redelivered: (deliveryCount ?? 0) > 0, deliveryCount: deliveryCount)
    }

    /// `message`'s body signed by another key under the trusted key's id: a redelivered forgery.
    static func forgedCopy(of message: InboundMessage) -> InboundMessage {
        let forger = RequestSigner.generate(keyID: "escalation-test").signer
        return InboundMessage(
            body: message.body, signatureHeader: forger.signature(for: message.body).value,
            messageID: message.messageID, redelivered: true, deliveryCount: 1)
    }

    func deliver(requestID: String = "REQ-T-1", deliveryCount: Int? = nil) async -> PipelineResult {
        await pipeline.process(Self.message(requestID: requestID, deliveryCount: deliveryCount))
    }

    func entry() throws -> LedgerEntry { try #require(try ledger.entry(for: Self.key)) }

    /// The key's outbox events, by type without the `breakglass.restoration.` prefix.
    func eventTypes() throws -> [String] {
        try ledger.events(for: Self.key).map {
            $0.message.routingKey.replacingOccurrences(of: "breakglass.restoration.", with: "")
        }
    }

    /// Runs `sql` on the ledger file through a separate SQLite connection (GRDB would share the pool).
    func sqlite(_ sql: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = ["-cmd", ".timeout 5000", ledger.configuration.path, sql]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw FixtureError.sqlite(sql) }
    }

    enum FixtureError: Error { case sqlite(String) }
}

/// Waits (polling, with a deadline) until `condition` holds; fails the test otherwise.
func eventually(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
}

/// A settable time source shared by the ledger and the pipeline.
final class ManualClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date = Date()) { value = Mutex(start) }
    var now: Date { value.withLock { $0 } }
    func advance(by seconds: TimeInterval) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
