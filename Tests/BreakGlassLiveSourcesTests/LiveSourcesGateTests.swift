import BreakGlassCore
import BreakGlassSimulator
import BreakGlassLiveSources
import Foundation
import Testing

/// One broken condition in the simulator's world, and the code the gate must halt with.
struct LiveGateCase: Sendable, CustomStringConvertible {
    let code: ReasonCode
    let name: String
    var mutate: @Sendable (inout SourcesWorld) -> Void = { _ in }
    /// A change made on the running simulator, after start (what a person would do while the request waits).
    var live: @Sendable (RunningSimulator) async -> Void = { _ in }
    /// A token other than the simulator's.
    var wrongToken = false

    var description: String { "\(code.rawValue): \(name)" }

    static let all: [LiveGateCase] = [
        LiveGateCase(
            code: .caseNotFound, name: "case unknown to the case source", mutate: { $0.fixtures.cases.removeAll() }),
        LiveGateCase(code: .caseClosed, name: "case closed", mutate: { $0.fixtures.cases[0].status = "closed" }),
        LiveGateCase(
            code: .packetMismatch, name: "packet hash differs",
            mutate: {
                $0.request.packet.sha256 = String(repeating: "cd", count: 32)
            }),
        LiveGateCase(
            code: .approvalMissing, name: "no approval for a required role",
            mutate: {
                $0.fixtures.cases[0].approvals.removeLast()
                $0.request.approvals.removeLast()
            }),
        LiveGateCase(
            code: .approvalRevoked, name: "approval revoked while waiting",
            live: { running in
                _ = await running.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-2", action: .revoke)
            }),
        LiveGateCase(
            code: .approvalPending, name: "approval back to pending",
            live: { running in
                _ = await running.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-1", action: .pend)
            }),
        LiveGateCase(
            code: .approvalExpired, name: "approval expired",
            mutate: {
                $0.fixtures.cases[0].approvals[2].expiresAt = "now-5m"
            }),
        LiveGateCase(
            code: .approvalStale, name: "approval older than the maximum age",
            mutate: {
                $0.fixtures.cases[0].approvals[0].approvedAt = "now-20h"
            }),
        LiveGateCase(
            code: .approvalMismatch, name: "message names another approver",
            mutate: {
                $0.request.approvals[1].approverID = "u-sec-9"
            }),
        LiveGateCase(
            code: .sodViolation, name: "approver lacks the role in directory_roles",
            mutate: {
                $0.fixtures.iam["tnt-4f9a2c"]?.directoryRoles["u-sec-3"] = ["incident-command"]
            }),
        LiveGateCase(
            code: .tenantMismatch, name: "tenant name differs from the master record",
            mutate: {
                $0.request.tenant.name = "Acme Corporation"
            }),
        LiveGateCase(
            code: .tenantInactive, name: "tenant suspended", mutate: { $0.fixtures.tenants[0].status = "suspended" }),
        LiveGateCase(
            code: .incidentMismatch, name: "incident does not list the tenant",
            mutate: {
                $0.fixtures.incidents[0].tenantIDs = ["tnt-other"]
            }),
        LiveGateCase(
            code: .incidentNotActive, name: "incident mitigated",
            mutate: {
                $0.fixtures.incidents[0].status = "mitigated"
            }),
        LiveGateCase(
            code: .identityUnverified, name: "identity not verified",
            mutate: {
                $0.fixtures.identities[0].verified = false
                $0.fixtures.identities[0].verifiedAt = nil
            }),
        LiveGateCase(
            code: .scopeExceedsApproval, name: "scope beyond the approved scopes",
            mutate: {
                $0.request.privilege.scopes.append("tenant.full-admin")
            }),
        LiveGateCase(
            code: .durationExceedsPolicy, name: "duration beyond the IAM maximum",
            mutate: {
                $0.fixtures.iam["tnt-4f9a2c"]?.policy.maxDurationMinutes = 60
            }),
        LiveGateCase(
            code: .existingSession, name: "unexpired break-glass session",
            mutate: {
                $0.fixtures.iam["tnt-4f9a2c"]?.sessions.append(.init(grantRef: "GR-live", expiresAt: "now+1h"))
            }),
        LiveGateCase(code: .sourceUnavailable, name: "the sources refuse the token", wrongToken: true),
        LiveGateCase(
            code: .requestExpired, name: "not_after passed",
            mutate: {
                $0.request.notAfter = Date().addingTimeInterval(-1)
            }),
    ]
}

@Suite("Gate against the simulator over HTTP")
struct LiveSourcesGateTests {
    @Test func validRequestPasses() async throws {
        try await SourcesWorld().withClient { client, _ in
            let (result, snapshot) = await client.gate(SourcesWorld().request, policy: GatePolicy())
            #expect(result.passed, "unexpected findings: \(result.findings)")
            #expect(snapshot.tenant.value?.name == "Acme Corp")
            #expect(snapshot.iamAdminState.value?.activeBreakglassSessions.isEmpty == true)
        }
    }

    @Test("each reason code from the live sources", arguments: LiveGateCase.all)
    func reasonCode(_ scenario: LiveGateCase) async throws {
        var world = SourcesWorld()
        scenario.mutate(&world)
        let request = world.request
        try await world.withClient { client, running in
            await scenario.live(running)
            let sources: any LiveSources
            var wrongClient: LiveSourcesClient?
            if scenario.wrongToken {
                let other = try LiveSourcesClient(
                    configuration: .init(baseURL: running.baseURL, token: Secret("tok-wrong")),
                    logger: .init(label: "test"))
                wrongClient = other
                sources = other
            } else {
                sources = client
            }
            let (result, _) = await sources.gate(request, policy: GatePolicy())
            try await wrongClient?.shutdown()
            if scenario.wrongToken {
                #expect(result.codes == [.sourceUnavailable])
                #expect(result.findings.count == 5)
                #expect(result.findings.allSatisfy { $0.detail.contains("HTTP 401") })
            } else {
                #expect(result.codes == [scenario.code], "\(scenario.name): \(result.findings)")
            }
        }
    }

    @Test func everyGateReasonCodeHasALiveTest() {
        let covered = Set(LiveGateCase.all.map(\.code))
        let gate = Set(ReasonCode.allCases.filter { $0.category == .gate })
        #expect(gate.subtracting(covered).isEmpty)
    }

    @Test func preSubmitRecheckSeesChangesMadeAfterTheGate() async throws {
        let world = SourcesWorld()
        try await world.withClient { client, running in
            let (first, _) = await client.gate(world.request, policy: GatePolicy())
            #expect(first.passed, "\(first.findings)")
            let (clean, _) = await client.preSubmitRecheck(world.request, policy: GatePolicy())
            #expect(clean.passed, "\(clean.findings)")
            #expect(clean.stage == .preSubmit)

            _ = await running.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-3", action: .revoke)
            let (revoked, _) = await client.preSubmitRecheck(world.request, policy: GatePolicy())
            #expect(revoked.codes == [.approvalRevoked])

            _ = await running.state.mutateApproval(caseID: "CASE-88121", approvalID: "APR-3", action: .renew)
            var fixtures = await running.state.fixtures
            fixtures.iam["tnt-4f9a2c"]?.sessions.append(.init(grantRef: "GR-other", expiresAt: "now+30m"))
            fixtures.cases[0].status = "closed"
            await running.state.replaceFixtures(try fixtures.resolved(at: Date()))
            let (late, snapshot) = await client.preSubmitRecheck(world.request, policy: GatePolicy())
            #expect(Set(late.codes) == [.caseClosed, .existingSession])
            #expect(snapshot.iamAdminState.value?.activeBreakglassSessions.map(\.grantRef) == ["GR-other"])
        }
    }

    @Test func everyFailingReasonIsReportedOverHTTP() async throws {
        var world = SourcesWorld()
        world.fixtures.tenants[0].status = "offboarded"
        world.fixtures.incidents[0].status = "resolved"
        world.fixtures.cases[0].approvals[0].status = "revoked"
        world.request.privilege.durationMinutes = 200
        try await world.withClient { client, _ in
            let (result, _) = await client.gate(world.request, policy: GatePolicy())
            #expect(
                Set(result.codes) == [.tenantInactive, .incidentNotActive, .approvalRevoked, .durationExceedsPolicy])
        }
    }
}
