import BreakGlassCore
import Foundation
import Testing

@Suite("Gate")
struct GateTests {
    @Test func validSnapshotPasses() {
        let result = GateFixture().evaluate()
        #expect(result.passed, "unexpected findings: \(result.findings)")
        #expect(result.stage == .gate)
        #expect(result.evaluatedAt == GateFixture.now)
    }

    @Test("each broken condition halts with its contract code", arguments: GateMutation.all)
    func brokenCondition(_ mutation: GateMutation) {
        var fixture = GateFixture()
        mutation.apply(&fixture, 1)
        let result = fixture.evaluate()
        #expect(!result.passed)
        #expect(result.codes.contains(mutation.expected), "\(mutation.name): got \(result.findings)")
        for finding in result.findings {
            #expect(!finding.detail.isEmpty)
        }
    }

    @Test func everyGateCodeIsProducible() {
        let produced = Set(GateMutation.all.map(\.expected))
        let gateCodes = Set(ReasonCode.allCases.filter { $0.category == .gate })
        #expect(gateCodes.subtracting(produced).isEmpty)
    }

    @Test func reportsEveryFailingReasonNotJustTheFirst() {
        var f = GateFixture()
        f.caseRecord.status = .closed
        f.caseRecord.approvals[1].status = .revoked
        f.tenant.status = .suspended
        f.incident.status = .resolved
        f.identity.verified = false
        f.request.privilege.scopes.append("tenant.full-admin")
        f.iam.activeBreakglassSessions.append(.init(grantRef: "GR-9", expiresAt: f.now.addingTimeInterval(600)))
        let codes = Set(f.evaluate().codes)
        #expect(
            codes == [
                .caseClosed, .approvalRevoked, .tenantInactive, .incidentNotActive, .identityUnverified,
                .scopeExceedsApproval, .existingSession,
            ])
    }

    @Test func unavailableSourceIsRetryableOnlyAlone() {
        var f = GateFixture()
        f.tenantAnswer = .unavailable(detail: "HTTP 503")
        let alone = f.evaluate()
        #expect(alone.codes == [.sourceUnavailable])
        #expect(alone.isOnlySourceUnavailable)
        #expect(alone.findings[0].detail.contains("tenant"))
        f.caseRecord.status = .closed
        #expect(!f.evaluate().isOnlySourceUnavailable)
    }

    @Test func unavailableCaseSkipsCaseRulesButKeepsOthers() {
        var f = GateFixture()
        f.caseAnswer = .unavailable(detail: "connection refused")
        f.incident.status = .mitigated
        #expect(Set(f.evaluate().codes) == [.sourceUnavailable, .incidentNotActive])
    }

    @Test func expiredSessionsDoNotCount() {
        var f = GateFixture()
        f.iam.activeBreakglassSessions = [
            .init(grantRef: "GR-1", expiresAt: f.now.addingTimeInterval(-f.policy.clockSkewTolerance - 1))
        ]
        #expect(f.evaluate().passed)
        // A session that ended within the skew tolerance still counts: the clocks may disagree.
        f.iam.activeBreakglassSessions = [.init(grantRef: "GR-2", expiresAt: f.now.addingTimeInterval(-5))]
        #expect(f.evaluate().codes == [.existingSession])
    }

    @Test func clockSkewToleranceIsConfigurable() {
        var f = GateFixture()
        f.caseRecord.approvals[0].expiresAt = f.now.addingTimeInterval(20)
        f.identity.verifiedAt = f.now.addingTimeInterval(20)
        f.policy.clockSkewTolerance = 30
        #expect(Set(f.evaluate().codes) == [.approvalExpired])
        f.policy.clockSkewTolerance = 10
        #expect(Set(f.evaluate().codes) == [.identityUnverified])
        f.policy.clockSkewTolerance = 25
        #expect(Set(f.evaluate().codes) == [.approvalExpired])
    }

    @Test func approvalAgeAndIdentityAgeAreConfigurable() {
        var f = GateFixture()
        f.policy.maxApprovalAge = 1800
        #expect(Set(f.evaluate().codes) == [.approvalStale])
        #expect(f.evaluate().findings.count == 3)
        f = GateFixture()
        f.policy.identityAssuranceMaxAge = 600
        #expect(f.evaluate().codes == [.identityUnverified])
    }

    @Test func expiredApprovalIsNotAlsoStale() {
        var f = GateFixture()
        f.caseRecord.approvals[2].approvedAt = f.now.addingTimeInterval(-100_000)
        f.caseRecord.approvals[2].expiresAt = f.now.addingTimeInterval(-10)
        #expect(f.evaluate().codes == [.approvalExpired])
    }

    @Test func requiredRolesOverrideReplacesIAMPolicy() {
        var f = GateFixture()
        f.iam.policy.requiredApprovalRoles = ["incident-command", "security", "customer-account-authority", "legal"]
        #expect(f.evaluate().codes == [.approvalMissing])
        f.policy.requiredRolesOverride = ["incident-command", "security"]
        #expect(f.evaluate().passed)
        f.policy.requiredRolesOverride = []
        #expect(f.evaluate().codes == [.approvalMissing])
    }

    @Test func packetHashComparesCaseInsensitively() {
        var f = GateFixture()
        f.caseRecord.packet.sha256 = f.request.packet.sha256.uppercased()
        #expect(f.evaluate().passed)
    }

    @Test func detailsNameTheRuleAndTheItem() {
        var f = GateFixture()
        f.caseRecord.approvals[1].status = .revoked
        f.request.privilege.scopes.append("tenant.full-admin")
        let findings = f.evaluate().findings
        #expect(
            findings.contains {
                $0.code == .approvalRevoked && $0.detail.contains("APR-2") && $0.detail.contains("security")
            })
        #expect(findings.contains { $0.code == .scopeExceedsApproval && $0.detail.contains("tenant.full-admin") })
    }

    // MARK: - Pre-submit recheck

    @Test func preSubmitRecheckPassesOnValidState() {
        let result = GateFixture().recheck()
        #expect(result.passed, "unexpected findings: \(result.findings)")
        #expect(result.stage == .preSubmit)
    }

    @Test func preSubmitRecheckCatchesApprovalsCaseAndSession() {
        var f = GateFixture()
        f.caseRecord.approvals[0].status = .revoked
        #expect(f.recheck().codes == [.approvalRevoked])
        f = GateFixture()
        f.caseRecord.status = .closed
        #expect(f.recheck().codes == [.caseClosed])
        f = GateFixture()
        f.iam.activeBreakglassSessions.append(.init(grantRef: "GR-7", expiresAt: f.now.addingTimeInterval(3600)))
        #expect(f.recheck().codes == [.existingSession])
        f = GateFixture()
        f.caseAnswer = .notFound
        #expect(f.recheck().codes == [.caseNotFound])
        f = GateFixture()
        f.iamAnswer = .unavailable(detail: "HTTP 502")
        #expect(f.recheck().codes == [.sourceUnavailable])
        f = GateFixture()
        f.iam.directoryRoles["u-sec-3"] = []
        #expect(f.recheck().codes == [.sodViolation])
    }

    @Test func preSubmitRecheckIgnoresSourcesItDoesNotRead() {
        var f = GateFixture()
        f.tenant.status = .suspended
        f.identity.verified = false
        #expect(f.recheck().passed)
    }

    // MARK: - Records and snapshot coding

    @Test func decodesTheContractShapes() throws {
        let caseJSON = """
            {"case_id":"CASE-88121","status":"open","tenant_id":"tnt-4f9a2c","incident_id":"INC-5521",
             "requester_admin_id":"adm-7781","packet":{"id":"PKT-77","sha256":"\(String(repeating: "ab", count: 32))"},
             "approved_scopes":["admins.restore","users.reset-mfa"],"approved_duration_minutes":120,
             "approvals":[{"approval_id":"APR-1","role":"security","approver_id":"u-sec-3","status":"pending",
               "approved_at":null,"expires_at":"2026-11-25T20:00:00Z"}],"extra":1}
            """
        let record = try JSONDecoder().decode(CaseRecord.self, from: Data(caseJSON.utf8))
        #expect(record.approvals[0].status == .pending)
        #expect(record.approvals[0].approvedAt == nil)
        #expect(record.approvals[0].expiresAt == Timestamp.parse("2026-11-25T20:00:00Z"))
        let iamJSON = """
            {"active_breakglass_sessions":[{"grant_ref":"GR-1","expires_at":"2026-11-25T20:00:00.250Z"}],
             "policy":{"max_duration_minutes":240,"required_approval_roles":["security"]},
             "directory_roles":{"u-sec-3":["security"]}}
            """
        let iam = try JSONDecoder().decode(IAMAdminState.self, from: Data(iamJSON.utf8))
        #expect(iam.directoryRoles["u-sec-3"] == ["security"])
        let identity = try JSONDecoder().decode(
            IdentityAssurance.self,
            from: Data(#"{"ref":"IDV-1","admin_id":"adm-1","verified":true,"verified_at":"2026-11-25T18:00:00Z"}"#.utf8)
        )
        #expect(identity.verified)
        _ = try JSONDecoder().decode(
            TenantRecord.self, from: Data(#"{"tenant_id":"t","name":"N","status":"offboarded"}"#.utf8))
        _ = try JSONDecoder().decode(
            IncidentRecord.self, from: Data(#"{"incident_id":"i","status":"mitigated","tenant_ids":["t"]}"#.utf8))
    }

    @Test func refusesMalformedRecords() {
        let bad: [String] = [
            #"{"tenant_id":"t","name":"N","status":"paused"}"#,
            #"{"tenant_id":"t","status":"active"}"#,
            #"{"tenant_id":1,"name":"N","status":"active"}"#,
        ]
        for text in bad {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(TenantRecord.self, from: Data(text.utf8)) }
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                IdentityAssurance.self,
                from: Data(#"{"ref":"r","admin_id":"a","verified":true,"verified_at":"2026-11-25 18:00"}"#.utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(
                IAMAdminState.Session.self,
                from: Data(#"{"grant_ref":"g","expires_at":"2026-11-25T18:00:00+02:00"}"#.utf8))
        }
    }

    @Test func snapshotAndResultRoundTrip() throws {
        var f = GateFixture()
        f.identityAnswer = .notFound
        f.tenantAnswer = .unavailable(detail: "HTTP 503")
        let snapshot = f.snapshot
        let decoded = try JSONDecoder().decode(SourceSnapshot.self, from: JSONEncoder().encode(snapshot))
        #expect(decoded == snapshot)
        let result = f.evaluate()
        let decodedResult = try JSONDecoder().decode(GateResult.self, from: JSONEncoder().encode(result))
        #expect(decodedResult == result)
        let text = String(decoding: try JSONEncoder().encode(snapshot), as: UTF8.self)
        #expect(text.contains(#""outcome":"not_found""#))
        #expect(text.contains(#""approved_duration_minutes":180"#))
    }

    // MARK: - Seam

    @Test func inMemorySourcesFeedTheGate() async {
        let f = GateFixture()
        let sources = InMemoryLiveSources()
        sources.put(f.caseRecord)
        sources.put(f.tenant)
        sources.put(f.incident)
        sources.put(f.identity)
        sources.put(f.iam, tenantID: f.tenant.tenantID)
        let (result, snapshot) = await sources.gate(f.request, policy: f.policy, clock: { GateFixture.now })
        #expect(result.passed, "unexpected findings: \(result.findings)")
        #expect(snapshot.escalationCase.value == f.caseRecord)
        for kind in SourceKind.allCases { #expect(sources.callCount(kind) == 1) }
        sources.setUnavailable(.incident)
        let (again, _) = await sources.gate(f.request, policy: f.policy, clock: { GateFixture.now })
        #expect(again.codes == [.sourceUnavailable])
        let (recheck, _) = await sources.preSubmitRecheck(f.request, policy: f.policy, clock: { GateFixture.now })
        #expect(recheck.passed)
        #expect(sources.callCount(.tenant) == 2)
        #expect(sources.callCount(.escalationCase) == 3)
    }

    @Test func secretIsRedactedEverywhere() {
        let secret = Secret("tok-canary-123")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("canary"))
        #expect(secret.revealed == "tok-canary-123")
    }
}
