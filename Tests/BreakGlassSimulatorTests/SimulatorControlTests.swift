import BreakGlassSimulator
import Foundation
import Testing

@Suite("Simulator test-control API")
struct SimulatorControlTests {
    typealias S = SimulatorTestSupport

    @Test func controlNeedsItsOwnToken() async throws {
        try await S.withSimulator { sim in
            for (method, path) in [
                ("GET", "/control/grants"), ("GET", "/control/faults"), ("POST", "/control/reset"),
                ("GET", "/control/fixtures"), ("PUT", "/control/faults/global"),
            ] {
                let answer = try await S.request(.init(rawValue: method), sim.baseURL + path, json: "{}")
                #expect(answer.status == 401, "\(method) \(path)")
                let wrong = try await S.request(
                    .init(rawValue: method), sim.baseURL + path, token: S.apiToken, json: "{}")
                #expect(wrong.status == 401, "\(method) \(path)")
            }
        }
    }

    @Test func replaceFixturesThenReset() async throws {
        try await S.withSimulator { sim in
            let fixtures = """
                {"tenants":[{"tenant_id":"tnt-new","name":"New Co","region":"eu-north-1","status":"active","contact_email":"x@new.example"}],
                 "cases":[{"case_id":"CASE-1","status":"open","tenant_id":"tnt-new","incident_id":"INC-1","requester_admin_id":"adm-1",
                           "packet":{"id":"P","sha256":"00"},"approved_scopes":["admins.restore"],"approved_duration_minutes":30,
                           "approvals":[{"approval_id":"A","role":"security","approver_id":"u","status":"approved","approved_at":"now-1h","expires_at":"now+1h"}]}],
                 "console":{"service_account":{"username":"svc","password":"pw"}}}
                """
            let put = try await S.request(
                .PUT, sim.baseURL + "/control/fixtures", token: S.controlToken, json: fixtures)
            #expect(put.status == 200)
            #expect(try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-new", token: S.apiToken).status == 200)
            #expect(try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-4f9a2c", token: S.apiToken).status == 404)
            let approval = try await S.request(.GET, sim.baseURL + "/v1/cases/CASE-1", token: S.apiToken)
            let approvedAt = ((approval.json["approvals"] as? [[String: Any]])?.first?["approved_at"] as? String) ?? ""
            #expect(SimulatorTime.parse(approvedAt) != nil)

            let bad = try await S.request(
                .PUT, sim.baseURL + "/control/fixtures", token: S.controlToken,
                json: #"{"tenants":[{"name":"no id"}]}"#)
            #expect(bad.status == 400)
            #expect((bad.json["message"] as? String)?.contains("tenant_id") == true)
            let notJSON = try await S.request(.PUT, sim.baseURL + "/control/fixtures", token: S.controlToken, json: "{")
            #expect(notJSON.status == 400)

            // Reset returns to the replaced fixtures (the seed), not the file's.
            #expect(try await S.request(.POST, sim.baseURL + "/control/reset", token: S.controlToken).status == 200)
            #expect(try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-new", token: S.apiToken).status == 200)
        }
    }

    @Test func mergeAddsAndReplacesByID() async throws {
        try await S.withSimulator { sim in
            let addition = """
                {"tenants":[{"tenant_id":"tnt-4f9a2c","name":"Acme Renamed","status":"suspended"},
                            {"tenant_id":"tnt-extra","name":"Extra Ltd"}],
                 "iam":{"tnt-extra":{"sessions":[{"grant_ref":"BG-EXTRA001","expires_at":"now+1h"}]}}}
                """
            let merged = try await S.request(
                .POST, sim.baseURL + "/control/fixtures/merge", token: S.controlToken, json: addition)
            #expect(merged.status == 200)
            let acme = try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-4f9a2c", token: S.apiToken)
            #expect(acme.json["name"] as? String == "Acme Renamed")
            #expect(acme.json["status"] as? String == "suspended")
            #expect(try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-extra", token: S.apiToken).status == 200)
            // Untouched entries and the console settings stay.
            #expect(try await S.request(.GET, sim.baseURL + "/v1/cases/CASE-88121", token: S.apiToken).status == 200)
            #expect(await sim.state.fixtures.console.serviceAccount.username == "svc-breakglass")
            let state = try await S.request(
                .GET, sim.baseURL + "/v1/iam/tenants/tnt-extra/admin-state", token: S.apiToken)
            let sessions = state.json["active_breakglass_sessions"] as? [[String: Any]]
            #expect(sessions?.first?["grant_ref"] as? String == "BG-EXTRA001")
            // Expired sessions are not active.
            let expired = #"{"iam":{"tnt-extra":{"sessions":[{"grant_ref":"BG-OLD00001","expires_at":"now-1m"}]}}}"#
            #expect(
                try await S.request(
                    .POST, sim.baseURL + "/control/fixtures/merge", token: S.controlToken, json: expired
                ).status == 200)
            let after = try await S.request(
                .GET, sim.baseURL + "/v1/iam/tenants/tnt-extra/admin-state", token: S.apiToken)
            #expect((after.json["active_breakglass_sessions"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test func revokeAndRenewAnApproval() async throws {
        try await S.withSimulator { sim in
            let url = sim.baseURL + "/control/cases/CASE-88121/approvals/APR-2"
            let revoked = try await S.request(.POST, url, token: S.controlToken, json: #"{"action":"revoke"}"#)
            #expect(revoked.status == 200)
            func status() async throws -> String? {
                let answer = try await S.request(.GET, sim.baseURL + "/v1/cases/CASE-88121", token: S.apiToken)
                return (answer.json["approvals"] as? [[String: Any]])?.first {
                    $0["approval_id"] as? String == "APR-2"
                }?["status"] as? String
            }
            #expect(try await status() == "revoked")
            let renewed = try await S.request(
                .POST, url, token: S.controlToken, json: #"{"action":"renew","expires_at":"now+3h"}"#)
            #expect(renewed.status == 200)
            #expect(try await status() == "approved")
            let pending = try await S.request(.POST, url, token: S.controlToken, json: #"{"action":"pending"}"#)
            #expect(pending.status == 200)
            #expect(try await status() == "pending")

            #expect(
                try await S.request(
                    .POST, sim.baseURL + "/control/cases/CASE-0/approvals/APR-2", token: S.controlToken,
                    json: #"{"action":"revoke"}"#
                ).status == 404)
            #expect(
                try await S.request(.POST, url, token: S.controlToken, json: #"{"action":"explode"}"#).status == 400)
            #expect(
                try await S.request(.POST, url, token: S.controlToken, json: #"{"action":"renew","expires_at":"soon"}"#)
                    .status == 400)
        }
    }

    @Test func faultModesPerTenantAndGlobal() async throws {
        try await S.withSimulator { sim in
            let global = try await S.request(
                .PUT, sim.baseURL + "/control/faults/global", token: S.controlToken,
                json: #"{"page_delay_ms": 5, "ambiguous_confirmation": true}"#)
            #expect(global.status == 200)
            let tenant = try await S.request(
                .PUT, sim.baseURL + "/control/faults/tenants/tnt-4f9a2c", token: S.controlToken,
                json: #"{"ambiguous_confirmation": false, "id_drift": ["scope"]}"#)
            #expect(tenant.status == 200)
            let merged = await sim.state.faults(for: "tnt-4f9a2c")
            #expect(merged.pageDelayMs == 5)
            #expect(merged.ambiguousConfirmation == false)
            #expect(merged.drifts(on: "scope"))
            #expect(!merged.drifts(on: "tenant"))
            #expect(await sim.state.faults(for: "tnt-7b21d0").ambiguousConfirmation == true)

            let read = try await S.request(.GET, sim.baseURL + "/control/faults", token: S.controlToken)
            #expect((read.json["global"] as? [String: Any])?["page_delay_ms"] as? Int == 5)
            #expect((read.json["tenants"] as? [String: Any])?["tnt-4f9a2c"] != nil)

            let unknownScreen = try await S.request(
                .PUT, sim.baseURL + "/control/faults/global", token: S.controlToken,
                json: #"{"error_at_screen": "nowhere"}"#)
            #expect(unknownScreen.status == 400)
            #expect((unknownScreen.json["message"] as? String)?.contains("unknown screen nowhere") == true)
            let negative = try await S.request(
                .PUT, sim.baseURL + "/control/faults/global", token: S.controlToken,
                json: #"{"page_delay_ms": -1}"#)
            #expect(negative.status == 400)

            #expect(try await S.request(.DELETE, sim.baseURL + "/control/faults", token: S.controlToken).status == 200)
            #expect(await sim.state.faults(for: "tnt-4f9a2c") == .none)

            let whole = try await S.request(
                .PUT, sim.baseURL + "/control/faults", token: S.controlToken,
                json: #"{"global": {}, "tenants": {"tnt-7b21d0": {"revoke_failure": "silent"}}}"#)
            #expect(whole.status == 200)
            #expect(await sim.state.faults(for: "tnt-7b21d0").revokeFailure == .silent)
        }
    }
}
