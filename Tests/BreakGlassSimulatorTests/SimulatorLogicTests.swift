@testable import BreakGlassSimulator
import Foundation
import Testing

/// Pure logic of the simulator: fault-mode merging and validation, flow gating, form decoding, escaping.
@Suite("Simulator logic")
struct SimulatorLogicTests {
    @Test func tenantFaultsOverrideGlobalFieldByField() {
        let global = FaultModes(pageDelayMs: 100, ambiguousConfirmation: true)
        let tenant = FaultModes(idDrift: ["scope"], ambiguousConfirmation: false)
        let merged = tenant.merged(over: global)
        #expect(merged.pageDelayMs == 100)
        #expect(merged.ambiguousConfirmation == false)
        #expect(merged.idDrift == ["scope"])
        #expect(FaultModes.none.merged(over: global) == global)
        #expect(FaultModes(idDrift: ["*"]).drifts(on: "anything"))
        #expect(!FaultModes.none.drifts(on: "scope"))
    }

    @Test func faultValidation() throws {
        #expect(throws: SimulatorError.self) { try FaultModes(pageDelayMs: 200_000).validate() }
        #expect(throws: SimulatorError.self) { try FaultModes(errorAtScreen: "checkout").validate() }
        #expect(throws: SimulatorError.self) { try FaultModes(idDrift: ["scope", "typo"]).validate() }
        try FaultModes(idDrift: ["*"], errorAtScreen: "submit", sessionExpiresAtScreen: "approvals").validate()
        let decoded = try JSONDecoder().decode(
            FaultModes.self, from: Data(#"{"revoke_failure":"silent","id_drift":["login"]}"#.utf8))
        #expect(decoded.revokeFailure == .silent)
        #expect(decoded.idDrift == ["login"])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(FaultModes.self, from: Data(#"{"revoke_failure":"sometimes"}"#.utf8))
        }
    }

    @Test func flowScreensOpenInOrder() {
        var flow = ConsoleFlow()
        #expect(flow.firstIncompleteScreen() == .tenant)
        #expect(flow.allows(.tenant))
        #expect(!flow.allows(.tenantVerify))
        flow.tenantID = "t"
        flow.externalReference = "C/t"
        flow.resolvedTenantID = "t"
        #expect(flow.firstIncompleteScreen() == .tenantVerify)
        #expect(flow.allows(.tenant) && flow.allows(.tenantVerify) && !flow.allows(.incident))
        flow.tenantConfirmed = true
        flow.incidentID = "i"
        flow.incidentConfirmed = true
        flow.scopes = ["a"]
        flow.expirationDone = true
        flow.approvalReferences = ["A"]
        flow.packetID = "P"
        flow.packetSHA256 = String(repeating: "0", count: 64)
        #expect(flow.firstIncompleteScreen() == .acknowledgement)
        #expect(flow.allows(.acknowledgement))
        // Screens outside the flow are not gated by it.
        #expect(ConsoleFlow().allows(.grants))
    }

    @Test func formDecoding() {
        let form = ConsoleForm(urlEncoded: "scope=a.b&scope=c%2Fd&name=Jane+Doe&empty=&bad=%zz&utf=%C3%A9")
        #expect(form.values("scope") == ["a.b", "c/d"])
        #expect(form.value("name") == "Jane Doe")
        #expect(form.value("empty") == "")
        #expect(form.value("bad") == "%zz")
        #expect(form.value("utf") == "é")
        #expect(form.value("missing") == nil)
    }

    @Test func escaping() {
        #expect("<script>\"x\" & 'y'</script>".html == "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;")
        #expect("CASE-1/tnt a".urlComponent == "CASE-1%2Ftnt%20a")
        #expect(ConsoleViews.scopeSlug("users.reset-mfa") == "users-reset-mfa")
    }

    @Test func randomCodesHaveTheConfirmationShape() {
        for _ in 0..<200 {
            #expect(("BG-" + SimulatorRandom.code()).wholeMatch(of: /BG-[A-Z0-9]{8}/) != nil)
        }
        #expect(SimulatorRandom.token().count == 64)
        #expect(SimulatorRandom.constantTimeEquals("abc", "abc"))
        #expect(!SimulatorRandom.constantTimeEquals("abc", "abd"))
        #expect(!SimulatorRandom.constantTimeEquals("abc", "abcd"))
    }

    @Test func grantIsCheckedAndRecordedInOneStep() async {
        let state = SimulatorState(fixtures: SimulatorFixtures())
        var flow = ConsoleFlow()
        flow.tenantID = "t"
        flow.resolvedTenantID = "t"
        flow.externalReference = "C/t"
        flow.incidentID = "i"
        flow.scopes = ["a"]
        let frozen = flow
        // Many concurrent submits of the same reference: exactly one grant.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask { _ = await state.makeGrant(flow: frozen, durationMinutes: 10, inIAM: true) }
            }
        }
        #expect(await state.grantCount(tenantID: "t", externalReference: "C/t") == 1)
        #expect(await state.grantCounts() == [.init(tenantID: "t", externalReference: "C/t", count: 1)])
        // Every submit is counted, the refused ones included.
        #expect(await state.submitCounts() == [.init(tenantID: "t", externalReference: "C/t", count: 50)])
    }
}
