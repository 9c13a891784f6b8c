import BreakGlassSimulator
import Foundation
import Testing

@Suite("Simulator live-source API over HTTP")
struct SimulatorAPITests {
    typealias S = SimulatorTestSupport

    @Test func caseHasEveryContractField() async throws {
        try await S.withSimulator { sim in
            let answer = try await S.request(.GET, sim.baseURL + "/v1/cases/CASE-88121", token: S.apiToken)
            #expect(answer.status == 200)
            let json = answer.json
            #expect(json["case_id"] as? String == "CASE-88121")
            #expect(json["status"] as? String == "open")
            #expect(json["tenant_id"] as? String == "tnt-4f9a2c")
            #expect(json["incident_id"] as? String == "INC-5521")
            #expect(json["requester_admin_id"] as? String == "adm-7781")
            let packet = try #require(json["packet"] as? [String: Any])
            #expect(packet["id"] as? String == "PKT-77")
            #expect((packet["sha256"] as? String)?.count == 64)
            #expect(json["approved_scopes"] as? [String] == ["admins.restore", "users.reset-mfa"])
            #expect(json["approved_duration_minutes"] as? Int == 120)
            let approvals = try #require(json["approvals"] as? [[String: Any]])
            #expect(approvals.count == 3)
            let first = approvals[0]
            #expect(Set(first.keys) == ["approval_id", "role", "approver_id", "status", "approved_at", "expires_at"])
            #expect(first["status"] as? String == "approved")
            // Relative fixture times were resolved to RFC 3339.
            let approvedAt = try #require(first["approved_at"] as? String)
            #expect(SimulatorTime.parse(approvedAt) != nil)
            #expect(!approvedAt.hasPrefix("now"))
        }
    }

    @Test func tenantIncidentIdentityAndAdminState() async throws {
        try await S.withSimulator { sim in
            let tenant = try await S.request(.GET, sim.baseURL + "/v1/tenants/tnt-4f9a2c", token: S.apiToken)
            #expect(tenant.status == 200)
            #expect(tenant.json["tenant_id"] as? String == "tnt-4f9a2c")
            #expect(tenant.json["name"] as? String == "Acme Corp")
            #expect(tenant.json["status"] as? String == "active")
            // Personal data stays on the console page only.
            #expect(tenant.json["contact_email"] == nil)
            #expect(!tenant.text.contains("@"))

            let incident = try await S.request(.GET, sim.baseURL + "/v1/incidents/INC-5530", token: S.apiToken)
            #expect(incident.status == 200)
            #expect(incident.json["incident_id"] as? String == "INC-5530")
            #expect(incident.json["status"] as? String == "active")
            #expect(incident.json["tenant_ids"] as? [String] == ["tnt-7b21d0", "tnt-1c88e4"])

            let identity = try await S.request(
                .GET, sim.baseURL + "/v1/identity/adm-7781/assurance/IDV-9912", token: S.apiToken)
            #expect(identity.status == 200)
            #expect(identity.json["ref"] as? String == "IDV-9912")
            #expect(identity.json["admin_id"] as? String == "adm-7781")
            #expect(identity.json["verified"] as? Bool == true)
            #expect(identity.json["verified_at"] is String)
            let unverified = try await S.request(
                .GET, sim.baseURL + "/v1/identity/adm-7801/assurance/IDV-9930", token: S.apiToken)
            #expect(unverified.json["verified"] as? Bool == false)
            #expect(unverified.json["verified_at"] is NSNull)

            let state = try await S.request(
                .GET, sim.baseURL + "/v1/iam/tenants/tnt-3e5a77/admin-state", token: S.apiToken)
            #expect(state.status == 200)
            let sessions = try #require(state.json["active_breakglass_sessions"] as? [[String: Any]])
            #expect(sessions.count == 1)
            #expect(sessions.first?["grant_ref"] as? String == "BG-7Q2M9XK4")
            #expect(sessions.first?["expires_at"] is String)
            let policy = try #require(state.json["policy"] as? [String: Any])
            #expect(policy["max_duration_minutes"] as? Int == 240)
            #expect(
                policy["required_approval_roles"] as? [String] == [
                    "incident-command", "security", "customer-account-authority",
                ])
            let roles = try #require(state.json["directory_roles"] as? [String: [String]])
            #expect(roles["u-sec-4"] == ["security"])
        }
    }

    @Test func wrongOrMissingTokenIs401() async throws {
        try await S.withSimulator { sim in
            for path in [
                "/v1/cases/CASE-88121", "/v1/tenants/tnt-4f9a2c", "/v1/incidents/INC-5521",
                "/v1/identity/adm-7781/assurance/IDV-9912", "/v1/iam/tenants/tnt-4f9a2c/admin-state",
            ] {
                let missing = try await S.request(.GET, sim.baseURL + path)
                #expect(missing.status == 401, "\(path)")
                #expect(missing.headers.first(name: "WWW-Authenticate")?.hasPrefix("Bearer") == true)
                let wrong = try await S.request(.GET, sim.baseURL + path, token: "not-the-token")
                #expect(wrong.status == 401, "\(path)")
                // The control token is not an API token.
                let control = try await S.request(.GET, sim.baseURL + path, token: S.controlToken)
                #expect(control.status == 401, "\(path)")
                #expect(!wrong.text.contains(S.apiToken))
            }
            let control = try await S.request(.GET, sim.baseURL + "/control/grants", token: S.apiToken)
            #expect(control.status == 401)
        }
    }

    @Test func unknownThingsAre404() async throws {
        try await S.withSimulator { sim in
            for path in [
                "/v1/cases/CASE-0", "/v1/tenants/tnt-nope", "/v1/incidents/INC-0",
                "/v1/identity/adm-7781/assurance/IDV-0", "/v1/identity/adm-0/assurance/IDV-9912",
                "/v1/iam/tenants/tnt-nope/admin-state",
            ] {
                let answer = try await S.request(.GET, sim.baseURL + path, token: S.apiToken)
                #expect(answer.status == 404, "\(path)")
                #expect(answer.json["error"] as? String == "not_found")
            }
        }
    }

    @Test func sampleFixturesValidate() throws {
        let fixtures = try SimulatorFixtures.load(contentsOf: S.sampleFixturesURL)
        #expect(fixtures.tenants.count >= 4)
        #expect(fixtures.cases.count >= 4)
        #expect(fixtures.console.offeredScopes.contains { $0.prechecked })
    }

    @Test func badFixturesGetSpecificErrors() throws {
        let yaml = """
            tenants:
              - { tenant_id: t1, name: A }
              - { tenant_id: t1, name: B }
            """
        let duplicate = #expect(throws: SimulatorError.self) {
            try SimulatorFixtures.decode(yaml: Data(yaml.utf8)).resolved(at: Date())
        }
        #expect(duplicate?.code == .fixturesInvalid)
        #expect(duplicate?.detail.contains("duplicate tenant_id t1") == true)

        let missing = #expect(throws: SimulatorError.self) {
            try SimulatorFixtures.decode(yaml: Data("tenants:\n  - { name: A }\n".utf8))
        }
        #expect(missing?.code == .fixturesMalformed)
        #expect(missing?.detail.contains("tenant_id") == true)

        let badTime = """
            cases:
              - case_id: C1
                status: open
                tenant_id: t
                incident_id: i
                requester_admin_id: a
                packet: { id: p, sha256: x }
                approved_scopes: [s]
                approved_duration_minutes: 10
                approvals: [{ approval_id: A1, role: r, approver_id: u, status: approved, expires_at: tomorrow }]
            """
        let time = #expect(throws: SimulatorError.self) {
            try SimulatorFixtures.decode(yaml: Data(badTime.utf8)).resolved(at: Date())
        }
        #expect(time?.detail == "cases[0].approvals[0].expires_at: not an RFC 3339 time nor now±N[smhd]")
        // Descriptions stay generic.
        #expect(time?.description == "simulator fixtures are inconsistent")
    }

    @Test func relativeTimes() throws {
        let now = try #require(SimulatorTime.parse("2026-11-25T18:00:00Z"))
        #expect(SimulatorTime.resolve("now+2h", now: now) == "2026-11-25T20:00:00Z")
        #expect(SimulatorTime.resolve("now-30m", now: now) == "2026-11-25T17:30:00Z")
        #expect(SimulatorTime.resolve("now+1d", now: now) == "2026-11-26T18:00:00Z")
        #expect(SimulatorTime.resolve("now", now: now) == "2026-11-25T18:00:00Z")
        #expect(SimulatorTime.resolve("2026-11-25T19:00:00.250+01:00", now: now) == "2026-11-25T18:00:00Z")
        #expect(SimulatorTime.resolve("now+2w", now: now) == nil)
        #expect(SimulatorTime.resolve("later", now: now) == nil)
    }
}
