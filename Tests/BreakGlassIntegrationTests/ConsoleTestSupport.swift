import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import BreakGlassLiveSources
import Foundation
import Logging
import Testing
import BreakGlassEvidence

/// The console driver against the real simulator (in-process, port 0) and a real headless Chromium.
struct ConsoleHarness {
    static let apiToken = "console-canary-bearer-token-Q7"
    static let controlToken = "console-control-token-8x"
    static let consolePassword = "sample-console-password"
    static let contactEmail = "jane.doe@acme.example"

    let sim: RunningSimulator
    let driver: ConsoleDriver
    let sources: LiveSourcesClient
    let evidenceRoot: URL
    let key: EvidenceKey
    let beforeSubmitCalls: Counter
    let logs: ConsoleLogCapture

    actor Counter {
        var value = 0
        func bump() { value += 1 }
    }

    static var referenceMapURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("config/consoles/reference.yaml")
    }

    static var fixturesURL: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("config/simulator.fixtures.yaml")
    }

    /// Runs `body` with a fresh simulator, browser pool (1 session) and evidence directory.
    static func run(
        pageLoad: Duration = .seconds(8), verificationWindow: Duration = .seconds(3),
        consoleURL: ((String) -> String)? = nil, mapYAML: ((String) -> String)? = nil,
        mapFile: String = "reference.yaml", layout: ConsoleLayout = .reference,
        signInAheadMaximumAge: Duration = .seconds(120),
        _ body: (ConsoleHarness) async throws -> Void
    ) async throws {
        var fixtures = try SimulatorFixtures.load(contentsOf: fixturesURL)
        fixtures.console.layout = layout
        let mapURL = referenceMapURL.deletingLastPathComponent().appendingPathComponent(mapFile)
        let simulator = try Simulator(
            configuration: .init(apiToken: apiToken, controlToken: controlToken), fixtures: fixtures)
        var map =
            try mapYAML.map { edit in
                try ConsoleMap.load(yaml: edit(String(contentsOf: mapURL, encoding: .utf8)))
            } ?? ConsoleMap.load(file: mapURL)
        map.timeouts = .init(screenMs: 5_000, confirmationMs: 4_000, pollMs: 50)
        let key = EvidenceKey.generate(keyID: "console-it").key
        let root = try TestEnvironment.scratchDirectory("console-evidence")
        let logs = ConsoleLogCapture()
        let logger = Logger(label: "test.console") { _ in ConsoleLogCapture.Handler(capture: logs) }
        try await simulator.withRunning { sim in
            let client = WebDriverClient(
                configuration: .init(
                    url: TestEnvironment.webDriverURL ?? "http://127.0.0.1:9",
                    chromiumBinary: TestEnvironment.chromiumBinary))
            let pool = BrowserPool(
                client: client,
                configuration: .init(
                    maximumSessions: 1, pageLoadTimeout: pageLoad, signInAheadMaximumAge: signInAheadMaximumAge),
                logger: logger)
            let sources = try LiveSourcesClient(
                configuration: .init(baseURL: sim.baseURL, token: Secret(apiToken), retryWindow: .seconds(2)),
                logger: logger)
            let driver = ConsoleDriver(
                configuration: .init(
                    baseURL: consoleURL?(sim.baseURL) ?? sim.baseURL, map: map, username: "svc-breakglass",
                    password: Secret(consolePassword), workerID: "worker-it",
                    grantVerificationWindow: verificationWindow,
                    grantVerificationInterval: .milliseconds(100), extraSecrets: [Secret(apiToken)]),
                pool: pool, evidence: try EvidenceStore(root: root, key: key, logger: logger), logger: logger)
            let harness = ConsoleHarness(
                sim: sim, driver: driver, sources: sources, evidenceRoot: root, key: key,
                beforeSubmitCalls: Counter(), logs: logs)
            do {
                try await body(harness)
            } catch {
                await pool.close()
                try? await sources.shutdown()
                throw error
            }
            await pool.close()
            try await sources.shutdown()
        }
    }

    /// Live hooks over the simulator's sources; `beforeSubmit` counts its calls (the ledger's `submitting`).
    func hooks(
        recheck: (@Sendable (RestorationRequest) async -> (GateResult, PreSubmitSnapshot?))? = nil
    ) -> SubmissionHooks {
        let counter = beforeSubmitCalls
        var hooks = SubmissionHooks.live(sources: sources, policy: GatePolicy()) { await counter.bump() }
        if let recheck { hooks.recheck = recheck }
        return hooks
    }

    func grantCount(_ request: RestorationRequest) async -> Int {
        await sim.state.grants(tenantID: nil, externalReference: request.key.description).count
    }

    func grants(_ request: RestorationRequest) async -> [SimulatorGrant] {
        await sim.state.grants(tenantID: nil, externalReference: request.key.description)
    }

    /// Every bundle written so far verifies with the worker's key.
    func verifyAll() throws -> Int {
        let names = try FileManager.default.contentsOfDirectory(atPath: evidenceRoot.path).filter { !$0.hasPrefix(".") }
        for name in names {
            let result = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(
                bundle: evidenceRoot.appendingPathComponent(name))
            #expect(result.isValid, "\(name): \(result.problems)")
        }
        return names.count
    }

    /// No evidence file contains any canary (the console password, the bearer token, the personal e-mail).
    func expectNoCanaries() throws {
        let canaries = [Self.consolePassword, Self.apiToken, Self.contactEmail, "jane.doe"]
        let files = try FileManager.default.subpathsOfDirectory(atPath: evidenceRoot.path)
        var checked = 0
        for file in files {
            let url = evidenceRoot.appendingPathComponent(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { continue }
            let data = try Data(contentsOf: url)
            for canary in canaries {
                #expect(data.range(of: Data(canary.utf8)) == nil, "\(file) contains a canary")
            }
            checked += 1
        }
        #expect(checked > 0)
        let lines = logs.lines
        #expect(!lines.isEmpty)
        for line in lines {
            for canary in canaries { #expect(!line.contains(canary), "a log line contains a canary") }
        }
    }

    static func request(
        caseID: String = "CASE-88121", tenantID: String = "tnt-4f9a2c", tenantName: String = "Acme Corp",
        incidentID: String = "INC-5521", requestID: String = "REQ-IT-1"
    ) -> RestorationRequest {
        RestorationRequest(
            requestID: requestID, caseID: caseID, tenant: .init(id: tenantID, name: tenantName),
            incident: .init(id: incidentID),
            requester: .init(adminID: "adm-7781", identityAssuranceRef: "IDV-9912"),
            privilege: .init(
                role: "tenant-admin", scopes: ["admins.restore", "users.reset-mfa"], durationMinutes: 120),
            approvals: [
                .init(role: "incident-command", approvalID: "APR-1", approverID: "u-ic-12"),
                .init(role: "security", approvalID: "APR-2", approverID: "u-sec-3"),
                .init(role: "customer-account-authority", approvalID: "APR-3", approverID: "c-ceo-1"),
            ],
            packet: .init(id: "PKT-77", sha256: "23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"),
            enqueuedAt: Date(), notAfter: Date().addingTimeInterval(3600))
    }
}

/// Every log line (message and metadata) the console parts wrote, at every level.
final class ConsoleLogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }

    func append(_ line: String) { lock.withLock { stored.append(line) } }

    struct Handler: LogHandler {
        let capture: ConsoleLogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.append(
                "\(event.level) \(event.message) \(all.map { "\($0)=\($1)" }.sorted().joined(separator: " "))")
        }
    }
}
