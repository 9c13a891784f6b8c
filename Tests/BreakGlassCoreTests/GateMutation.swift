import BreakGlassCore
import Foundation

/// Breaks exactly one gate condition of a valid `GateFixture`. `p` (1...10_000) varies the breakage (how far past a
/// limit, which approval, which source), so the property test explores many versions of each.
struct GateMutation: Sendable, CustomStringConvertible {
    let name: String
    let expected: ReasonCode
    let apply: @Sendable (inout GateFixture, Int) -> Void

    var description: String { name }

    init(_ name: String, _ expected: ReasonCode, _ apply: @escaping @Sendable (inout GateFixture, Int) -> Void) {
        self.name = name
        self.expected = expected
        self.apply = apply
    }

    /// Which of the three approvals to break.
    static func pick(_ p: Int) -> Int { p % 3 }

    static let all: [GateMutation] = [
        GateMutation("case does not exist", .caseNotFound) { f, _ in f.caseAnswer = .notFound },
        GateMutation("case answer for another case", .caseNotFound) { f, p in f.caseRecord.caseID = "CASE-x\(p)" },
        GateMutation("case closed", .caseClosed) { f, _ in f.caseRecord.status = .closed },
        GateMutation("packet id differs", .packetMismatch) { f, p in f.caseRecord.packet.id = "PKT-x\(p)" },
        GateMutation("packet hash differs", .packetMismatch) { f, p in
            f.caseRecord.packet.sha256 = String(String(repeating: "0", count: 64 - String(p).count) + String(p))
        },
        GateMutation("case lacks a required role", .approvalMissing) { f, p in
            f.caseRecord.approvals.remove(at: pick(p))
        },
        GateMutation("message lacks a required role", .approvalMissing) { f, p in
            f.request.approvals.remove(at: pick(p))
        },
        GateMutation("override requires an extra role", .approvalMissing) { f, p in
            f.policy.requiredRolesOverride = GateFixture.roles + ["role-\(p)"]
        },
        GateMutation("IAM policy requires an extra role", .approvalMissing) { f, p in
            f.iam.policy.requiredApprovalRoles.append("role-\(p)")
        },
        GateMutation("approval revoked", .approvalRevoked) { f, p in f.caseRecord.approvals[pick(p)].status = .revoked
        },
        GateMutation("approval pending", .approvalPending) { f, p in
            f.caseRecord.approvals[pick(p)].status = .pending
            f.caseRecord.approvals[pick(p)].approvedAt = nil
        },
        GateMutation("approval expired", .approvalExpired) { f, p in
            f.caseRecord.approvals[pick(p)].expiresAt = f.now.addingTimeInterval(-Double(p))
        },
        GateMutation("approval expires within the skew", .approvalExpired) { f, p in
            f.caseRecord.approvals[pick(p)].expiresAt = f.now.addingTimeInterval(Double(p % 30))
        },
        GateMutation("approval stale", .approvalStale) { f, p in
            f.caseRecord.approvals[pick(p)].approvedAt = f.now.addingTimeInterval(-f.policy.maxApprovalAge - Double(p))
        },
        GateMutation("approval without approved_at", .approvalStale) { f, p in
            f.caseRecord.approvals[pick(p)].approvedAt = nil
        },
        GateMutation("approval approved in the future", .approvalMismatch) { f, p in
            f.caseRecord.approvals[pick(p)].approvedAt = f.now.addingTimeInterval(
                f.policy.clockSkewTolerance + Double(p))
        },
        GateMutation("message approval id unknown", .approvalMismatch) { f, p in
            f.request.approvals[pick(p)].approvalID = "APR-X\(p)"
        },
        GateMutation("message approval role differs", .approvalMismatch) { f, p in
            let i = pick(p)
            f.request.approvals[i].role = GateFixture.roles[(i + 1) % 3]
        },
        GateMutation("message approver differs", .approvalMismatch) { f, p in
            f.request.approvals[pick(p)].approverID = "u-other-\(p)"
        },
        GateMutation("message approval duplicated", .approvalMismatch) { f, p in
            f.request.approvals.append(f.request.approvals[pick(p)])
        },
        GateMutation("approver is the requester", .sodViolation) { f, p in
            let i = pick(p)
            f.caseRecord.approvals[i].approverID = f.request.requester.adminID
            f.request.approvals[i].approverID = f.request.requester.adminID
            f.iam.directoryRoles[f.request.requester.adminID] = [GateFixture.roles[i]]
        },
        GateMutation("approver is the worker", .sodViolation) { f, p in
            let i = pick(p)
            let worker = f.policy.workerServiceIdentity
            f.caseRecord.approvals[i].approverID = worker
            f.request.approvals[i].approverID = worker
            f.iam.directoryRoles[worker] = [GateFixture.roles[i]]
        },
        GateMutation("two approvals by one person", .sodViolation) { f, p in
            let i = pick(p)
            let j = (i + 2) % 3
            let person = f.caseRecord.approvals[j].approverID
            f.caseRecord.approvals[i].approverID = person
            f.request.approvals[i].approverID = person
            f.iam.directoryRoles[person] = GateFixture.roles
        },
        GateMutation("approver lacks the directory role", .sodViolation) { f, p in
            let approver = f.caseRecord.approvals[pick(p)].approverID
            f.iam.directoryRoles[approver] = p % 2 == 0 ? nil : ["some-other-role"]
        },
        GateMutation("case tenant differs", .tenantMismatch) { f, p in f.caseRecord.tenantID = "tnt-x\(p)" },
        GateMutation("tenant does not exist", .tenantMismatch) { f, _ in f.tenantAnswer = .notFound },
        GateMutation("tenant answer for another tenant", .tenantMismatch) { f, p in f.tenant.tenantID = "tnt-x\(p)" },
        GateMutation("tenant name differs", .tenantMismatch) { f, p in f.tenant.name = "Acme Corp \(p)" },
        GateMutation("IAM has no admin state", .tenantMismatch) { f, _ in f.iamAnswer = .notFound },
        GateMutation("tenant not active", .tenantInactive) { f, p in
            f.tenant.status = p % 2 == 0 ? .suspended : .offboarded
        },
        GateMutation("incident does not exist", .incidentMismatch) { f, _ in f.incidentAnswer = .notFound },
        GateMutation("incident answer for another incident", .incidentMismatch) { f, p in
            f.incident.incidentID = "INC-x\(p)"
        },
        GateMutation("incident does not list the tenant", .incidentMismatch) { f, _ in
            f.incident.tenantIDs.removeAll { $0 == f.request.tenant.id }
        },
        GateMutation("case incident differs", .incidentMismatch) { f, p in f.caseRecord.incidentID = "INC-x\(p)" },
        GateMutation("incident not active", .incidentNotActive) { f, p in
            f.incident.status = p % 2 == 0 ? .mitigated : .resolved
        },
        GateMutation("identity record missing", .identityUnverified) { f, _ in f.identityAnswer = .notFound },
        GateMutation("identity not verified", .identityUnverified) { f, _ in f.identity.verified = false },
        GateMutation("identity without verified_at", .identityUnverified) { f, _ in f.identity.verifiedAt = nil },
        GateMutation("identity verified too long ago", .identityUnverified) { f, p in
            f.identity.verifiedAt = f.now.addingTimeInterval(-f.policy.identityAssuranceMaxAge - Double(p))
        },
        GateMutation("identity verified in the future", .identityUnverified) { f, p in
            f.identity.verifiedAt = f.now.addingTimeInterval(f.policy.clockSkewTolerance + Double(p))
        },
        GateMutation("identity answer for another admin", .identityUnverified) { f, p in
            f.identity.adminID = "adm-x\(p)"
        },
        GateMutation("case requester differs", .identityUnverified) { f, p in
            f.caseRecord.requesterAdminID = "adm-x\(p)"
        },
        GateMutation("scope beyond the approved ones", .scopeExceedsApproval) { f, p in
            f.request.privilege.scopes.append("scope.\(p)")
        },
        GateMutation("case no longer approves a scope", .scopeExceedsApproval) { f, p in
            let scope = f.request.privilege.scopes[p % f.request.privilege.scopes.count]
            f.caseRecord.approvedScopes.removeAll { $0 == scope }
        },
        GateMutation("duration beyond the approved duration", .durationExceedsPolicy) { f, p in
            f.caseRecord.approvedDurationMinutes = f.request.privilege.durationMinutes - 1 - p % 100
        },
        GateMutation("duration beyond the IAM maximum", .durationExceedsPolicy) { f, p in
            f.iam.policy.maxDurationMinutes = f.request.privilege.durationMinutes - 1 - p % 100
        },
        GateMutation("an unexpired session exists", .existingSession) { f, p in
            f.iam.activeBreakglassSessions.append(
                .init(grantRef: "GR-\(p)", expiresAt: f.now.addingTimeInterval(Double(p))))
        },
        GateMutation("a source is unavailable", .sourceUnavailable) { f, p in
            switch p % 5 {
            case 0: f.caseAnswer = .unavailable(detail: "timeout")
            case 1: f.tenantAnswer = .unavailable(detail: "timeout")
            case 2: f.incidentAnswer = .unavailable(detail: "timeout")
            case 3: f.identityAnswer = .unavailable(detail: "timeout")
            default: f.iamAnswer = .unavailable(detail: "timeout")
            }
        },
        GateMutation("not_after passed", .requestExpired) { f, p in
            f.now = f.request.notAfter.addingTimeInterval(Double(p) - 30)
        },
    ]
}
