import BreakGlassCore
import BreakGlassSimulator
import BreakGlassLiveSources
import Foundation
import Logging
import Synchronization

/// A world the simulator serves where one request passes the gate; tests break one thing at a time.
struct SourcesWorld {
    static let apiToken = "tok-api-CANARY-7f3e9a1c"
    static let controlToken = "tok-control-5b2d"
    static let roles = ["incident-command", "security", "customer-account-authority"]
    static let approvers = ["u-ic-12", "u-sec-3", "c-ceo-1"]
    static let sha = String(repeating: "ab", count: 32)

    var fixtures: SimulatorFixtures
    var request: RestorationRequest

    init(caseID: String = "CASE-88121", tenantID: String = "tnt-4f9a2c") {
        let now = Date()
        fixtures = SimulatorFixtures(
            tenants: [
                .init(tenantID: tenantID, name: "Acme Corp", status: "active", contactEmail: "ceo@acme.example"),
                .init(tenantID: "tnt-other", name: "Other Inc", status: "active"),
            ],
            incidents: [
                .init(incidentID: "INC-5521", title: "Admins locked out", status: "active", tenantIDs: [tenantID])
            ],
            cases: [
                .init(
                    caseID: caseID, status: "open", tenantID: tenantID, incidentID: "INC-5521",
                    requesterAdminID: "adm-7781", packet: .init(id: "PKT-77", sha256: Self.sha),
                    approvedScopes: ["admins.restore", "users.reset-mfa"], approvedDurationMinutes: 180,
                    approvals: zip(Self.roles, Self.approvers).enumerated().map { index, pair in
                        .init(
                            approvalID: "APR-\(index + 1)", role: pair.0, approverID: pair.1, status: "approved",
                            approvedAt: "now-1h", expiresAt: "now+4h")
                    })
            ],
            identities: [.init(adminID: "adm-7781", ref: "IDV-9912", verified: true, verifiedAt: "now-30m")],
            iam: [
                tenantID: .init(
                    policy: .init(maxDurationMinutes: 240, requiredApprovalRoles: Self.roles),
                    directoryRoles: Dictionary(uniqueKeysWithValues: zip(Self.approvers, Self.roles.map { [$0] })),
                    sessions: [.init(grantRef: "GR-old", expiresAt: "now-2h")])
            ])
        request = RestorationRequest(
            requestID: "REQ-2026-000123", caseID: caseID, tenant: .init(id: tenantID, name: "Acme Corp"),
            incident: .init(id: "INC-5521"), requester: .init(adminID: "adm-7781", identityAssuranceRef: "IDV-9912"),
            privilege: .init(
                role: "tenant-admin", scopes: ["admins.restore", "users.reset-mfa"], durationMinutes: 120),
            approvals: zip(Self.roles, Self.approvers).enumerated().map { index, pair in
                .init(role: pair.0, approvalID: "APR-\(index + 1)", approverID: pair.1)
            },
            packet: .init(id: "PKT-77", sha256: Self.sha), enqueuedAt: now.addingTimeInterval(-60),
            notAfter: now.addingTimeInterval(3600))
    }

    /// Runs the simulator on a free port with these fixtures and gives `body` a client pointed at it.
    func withClient<R>(
        retryWindow: Duration = .seconds(2), logger: Logger = Logger(label: "test.sources"),
        _ body: (LiveSourcesClient, RunningSimulator) async throws -> R
    ) async throws -> R {
        let simulator = try Simulator(
            configuration: .init(apiToken: Self.apiToken, controlToken: Self.controlToken),
            fixtures: fixtures.resolved(at: Date()),
            logger: Logger(label: "test.simulator", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await simulator.withRunning { running in
            let client = try LiveSourcesClient(
                configuration: .init(
                    baseURL: running.baseURL, token: Secret(Self.apiToken), requestTimeout: .seconds(3),
                    retryWindow: retryWindow, initialBackoff: .milliseconds(20), maximumBackoff: .milliseconds(200)),
                logger: logger)
            do {
                let result = try await body(client, running)
                try await client.shutdown()
                return result
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }
}

/// A swift-log handler that keeps every record in memory, every level, so a test can search what was logged.
struct RecordingLogHandler: LogHandler {
    final class Store: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: Store) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let rendered = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        store.append("\(event.level) \(event.message) \(rendered) \(event.source) \(event.file):\(event.line)")
    }
}
