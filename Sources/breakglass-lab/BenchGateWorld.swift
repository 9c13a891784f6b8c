import BreakGlassCore
import BreakGlassSimulator
import Foundation

/// `count` tenants, each with an open case, an active incident, a verified requester and an IAM state, and the
/// request for each that passes the gate: the gate benchmark's fixtures.
struct BenchGateWorld {
    static let roles = ["incident-command", "security", "customer-account-authority"]

    let fixtures: SimulatorFixtures
    let requests: [RestorationRequest]

    init(count: Int) {
        var fixtures = SimulatorFixtures()
        var requests: [RestorationRequest] = []
        let now = Date()
        let sha = String(repeating: "5e", count: 32)
        for n in 0..<count {
            let tenantID = "tnt-bench-\(n)"
            let caseID = "CASE-BENCH-\(n)"
            let incidentID = "INC-BENCH-\(n / 10)"
            let requester = "adm-\(n % 50)"
            let ref = "IDV-\(n)"
            let approvers = ["u-ic-\(n % 7)", "u-sec-\(n % 5)", "c-auth-\(n)"]
            fixtures.tenants.append(.init(tenantID: tenantID, name: "Bench Tenant \(n)", status: "active"))
            if n % 10 == 0 {
                fixtures.incidents.append(
                    .init(
                        incidentID: incidentID, title: "Bench incident", status: "active",
                        tenantIDs: (n..<min(n + 10, count)).map { "tnt-bench-\($0)" }))
            }
            fixtures.cases.append(
                .init(
                    caseID: caseID, status: "open", tenantID: tenantID, incidentID: incidentID,
                    requesterAdminID: requester, packet: .init(id: "PKT-\(n)", sha256: sha),
                    approvedScopes: ["admins.restore", "users.reset-mfa"], approvedDurationMinutes: 180,
                    approvals: zip(Self.roles, approvers).enumerated().map { i, pair in
                        .init(
                            approvalID: "APR-\(n)-\(i)", role: pair.0, approverID: pair.1, status: "approved",
                            approvedAt: "now-1h", expiresAt: "now+6h")
                    }))
            fixtures.identities.append(.init(adminID: requester, ref: ref, verified: true, verifiedAt: "now-20m"))
            fixtures.iam[tenantID] = .init(
                policy: .init(maxDurationMinutes: 240, requiredApprovalRoles: Self.roles),
                directoryRoles: Dictionary(uniqueKeysWithValues: zip(approvers, Self.roles.map { [$0] })),
                sessions: [.init(grantRef: "GR-expired-\(n)", expiresAt: "now-3h")])
            requests.append(
                RestorationRequest(
                    requestID: "REQ-BENCH-\(n)", caseID: caseID, tenant: .init(id: tenantID, name: "Bench Tenant \(n)"),
                    incident: .init(id: incidentID), requester: .init(adminID: requester, identityAssuranceRef: ref),
                    privilege: .init(role: "tenant-admin", scopes: ["admins.restore"], durationMinutes: 120),
                    approvals: zip(Self.roles, approvers).enumerated().map { i, pair in
                        .init(role: pair.0, approvalID: "APR-\(n)-\(i)", approverID: pair.1)
                    },
                    packet: .init(id: "PKT-\(n)", sha256: sha), enqueuedAt: now,
                    notAfter: now.addingTimeInterval(24 * 3600)))
        }
        self.fixtures = fixtures
        self.requests = requests
    }
}
