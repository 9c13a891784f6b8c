import BreakGlassCore
import Foundation

/// A request and a snapshot that pass the gate, at a fixed instant; tests break one thing at a time.
struct GateFixture {
    static let now = Timestamp.parse("2026-11-25T18:30:00Z")!
    static let roles = ["incident-command", "security", "customer-account-authority"]

    var request: RestorationRequest
    var caseRecord: CaseRecord
    var tenant: TenantRecord
    var incident: IncidentRecord
    var identity: IdentityAssurance
    var iam: IAMAdminState
    var caseAnswer: SourceAnswer<CaseRecord>?
    var tenantAnswer: SourceAnswer<TenantRecord>?
    var incidentAnswer: SourceAnswer<IncidentRecord>?
    var identityAnswer: SourceAnswer<IdentityAssurance>?
    var iamAnswer: SourceAnswer<IAMAdminState>?
    var policy = GatePolicy()
    var now = GateFixture.now

    init() {
        let now = GateFixture.now
        let sha = String(repeating: "ab", count: 32)
        let approvers = ["u-ic-12", "u-sec-3", "c-ceo-1"]
        request = RestorationRequest(
            requestID: "REQ-2026-000123", caseID: "CASE-88121",
            tenant: .init(id: "tnt-4f9a2c", name: "Acme Corp"), incident: .init(id: "INC-5521"),
            requester: .init(adminID: "adm-7781", identityAssuranceRef: "IDV-9912"),
            privilege: .init(
                role: "tenant-admin", scopes: ["admins.restore", "users.reset-mfa"], durationMinutes: 120),
            approvals: zip(Self.roles, approvers).enumerated().map { index, pair in
                .init(role: pair.0, approvalID: "APR-\(index + 1)", approverID: pair.1)
            },
            packet: .init(id: "PKT-77", sha256: sha),
            enqueuedAt: now.addingTimeInterval(-600), notAfter: now.addingTimeInterval(3000))
        caseRecord = CaseRecord(
            caseID: "CASE-88121", status: .open, tenantID: "tnt-4f9a2c", incidentID: "INC-5521",
            requesterAdminID: "adm-7781", packet: .init(id: "PKT-77", sha256: sha),
            approvedScopes: ["admins.restore", "users.reset-mfa", "audit.read"], approvedDurationMinutes: 180,
            approvals: zip(Self.roles, approvers).enumerated().map { index, pair in
                .init(
                    approvalID: "APR-\(index + 1)", role: pair.0, approverID: pair.1, status: .approved,
                    approvedAt: now.addingTimeInterval(-3600), expiresAt: now.addingTimeInterval(7200))
            })
        tenant = TenantRecord(tenantID: "tnt-4f9a2c", name: "Acme Corp", status: .active)
        incident = IncidentRecord(incidentID: "INC-5521", status: .active, tenantIDs: ["tnt-0001", "tnt-4f9a2c"])
        identity = IdentityAssurance(
            ref: "IDV-9912", adminID: "adm-7781", verified: true, verifiedAt: now.addingTimeInterval(-1800))
        iam = IAMAdminState(
            activeBreakglassSessions: [.init(grantRef: "GR-old", expiresAt: now.addingTimeInterval(-7200))],
            policy: .init(maxDurationMinutes: 240, requiredApprovalRoles: Self.roles),
            directoryRoles: [
                "u-ic-12": ["incident-command"], "u-sec-3": ["security", "incident-command"],
                "c-ceo-1": ["customer-account-authority"],
            ])
    }

    var snapshot: SourceSnapshot {
        SourceSnapshot(
            escalationCase: caseAnswer ?? .found(caseRecord), tenant: tenantAnswer ?? .found(tenant),
            incident: incidentAnswer ?? .found(incident), identity: identityAnswer ?? .found(identity),
            iamAdminState: iamAnswer ?? .found(iam), fetchStartedAt: now, fetchFinishedAt: now)
    }

    var preSubmitSnapshot: PreSubmitSnapshot {
        PreSubmitSnapshot(
            escalationCase: caseAnswer ?? .found(caseRecord), iamAdminState: iamAnswer ?? .found(iam),
            fetchStartedAt: now, fetchFinishedAt: now)
    }

    func evaluate() -> GateResult {
        Gate.evaluate(request: request, snapshot: snapshot, policy: policy, now: now)
    }

    func recheck() -> GateResult {
        Gate.preSubmitRecheck(request: request, snapshot: preSubmitSnapshot, policy: policy, now: now)
    }
}
