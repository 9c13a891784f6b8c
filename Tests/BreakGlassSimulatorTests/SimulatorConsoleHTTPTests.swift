import BreakGlassSimulator
import Foundation
import Testing

/// The console's protections and bookkeeping over plain HTTP (the browser walks are in the integration tests).
@Suite("Simulator console over HTTP")
struct SimulatorConsoleHTTPTests {
    typealias S = SimulatorTestSupport

    @Test func noSessionMeansLogin() async throws {
        try await S.withSimulator { sim in
            for path in [
                "/console/tenant", "/console/scope", "/console/acknowledgement", "/console/grants",
                "/console/confirmation", "/console/drafts/DRAFT-AAAAAAAA",
            ] {
                let answer = try await S.request(.GET, sim.baseURL + path)
                #expect(answer.status == 303, "\(path)")
                #expect(answer.location == "/console/login", "\(path)")
            }
            // An unknown (or expired) session cookie: back to login, told the session expired.
            let stale = try await S.request(.GET, sim.baseURL + "/console/tenant", cookie: "bgsim_session=deadbeef")
            #expect(stale.location == "/console/login?expired=1")
            // A pre-login session is not signed in.
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            let login = try await walker.get("/console/login")
            #expect(login.screen == "login")
            let cookie = try #require(login.headers.first(name: "Set-Cookie"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(try await walker.get("/console/tenant").location == "/console/login")
        }
    }

    @Test func wrongPasswordIsRefusedAndNotEchoed() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            let answer = try await walker.login(password: "guess-123")
            #expect(answer.status == 401)
            #expect(answer.screen == "login")
            #expect(answer.text.contains("Invalid username or password."))
            #expect(!answer.text.contains("guess-123"))
            #expect(!answer.text.contains("sample-console-password"))
        }
    }

    @Test func loginRotatesTheSession() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await walker.get("/console/login")
            let before = walker.cookie
            let page = try await walker.login()
            #expect(page.screen == "tenant")
            #expect(walker.cookie != before)
            // The pre-login session id is worthless now.
            let old = try await S.request(.GET, sim.baseURL + "/console/tenant", cookie: before)
            #expect(old.status == 303)
        }
    }

    @Test func csrfIsEnforcedOnEveryForm() async throws {
        try await S.withSimulator { sim in
            // Login form without / with a wrong token.
            let anonymous = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await anonymous.get("/console/login")
            let noToken = try await anonymous.post(
                "/console/login", [("username", "svc-breakglass"), ("password", "sample-console-password")],
                withCSRF: false)
            #expect(noToken.status == 403)
            #expect(noToken.screen == "error")
            #expect(noToken.firstMatch(#"id="error-code">([a-z-]+)<"#) == "csrf")

            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            #expect(try await walker.login().screen == "tenant")
            let fields = [
                ("tenant_id", "tnt-4f9a2c"), ("external_reference", "CASE-88121/tnt-4f9a2c"), ("action", "next"),
            ]
            let missing = try await walker.post("/console/tenant", fields, withCSRF: false)
            #expect(missing.status == 403)
            let wrong = try await walker.post("/console/tenant", fields, csrf: String(repeating: "0", count: 64))
            #expect(wrong.status == 403)
            // Nothing was applied: the tenant screen is still empty.
            let tenant = try await walker.get("/console/tenant")
            #expect(!tenant.text.contains("value=\"tnt-4f9a2c\""))

            // A CSRF failure on submit grants nothing.
            try await walker.fill(
                tenant: "tnt-4f9a2c", reference: "CSRF-1", incident: "INC-5521",
                scopes: ["admins.restore"], minutes: 60)
            let submit = try await walker.post(
                "/console/submit", [("acknowledge", "yes"), ("action", "submit")], csrf: "bad")
            #expect(submit.status == 403)
            #expect(await sim.state.grants.isEmpty)
            let ok = try await walker.postFollow("/console/submit", [("acknowledge", "yes"), ("action", "submit")])
            #expect(ok.screen == "confirmation")
            #expect(await sim.state.grants.count == 1)
        }
    }

    @Test func duplicateExternalReferenceGrantsNothing() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await walker.login()
            let review = try await walker.fill(
                tenant: "tnt-4f9a2c", reference: "CASE-88121/tnt-4f9a2c", incident: "INC-5521",
                scopes: ["admins.restore", "users.reset-mfa"], minutes: 120)
            #expect(review.screen == "acknowledgement")
            let first = try await walker.postFollow("/console/submit", [("acknowledge", "yes"), ("action", "submit")])
            #expect(first.screen == "confirmation")
            let id = try #require(first.firstMatch(#"id="confirmation-id">(BG-[A-Z0-9]{8})<"#))

            // A second browser session, same external reference.
            let other = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await other.login()
            try await other.fill(
                tenant: "tnt-4f9a2c", reference: "CASE-88121/tnt-4f9a2c", incident: "INC-5521",
                scopes: ["admins.restore"], minutes: 30)
            let second = try await other.post("/console/submit", [("acknowledge", "yes"), ("action", "submit")])
            #expect(second.status == 409)
            #expect(second.screen == "grant-exists")
            #expect(second.text.contains("grant already exists: \(id)"))

            let counts = try await S.request(
                .GET, sim.baseURL + "/control/grants?tenant_id=tnt-4f9a2c", token: S.controlToken)
            let rows = try #require(counts.json["counts"] as? [[String: Any]])
            #expect(rows.count == 1)
            #expect(rows.first?["external_reference"] as? String == "CASE-88121/tnt-4f9a2c")
            #expect(rows.first?["count"] as? Int == 1)
            #expect(await sim.state.grantCount(tenantID: "tnt-4f9a2c", externalReference: "CASE-88121/tnt-4f9a2c") == 1)

            // The grant is in IAM admin-state under its confirmation id.
            let state = try await S.request(
                .GET, sim.baseURL + "/v1/iam/tenants/tnt-4f9a2c/admin-state", token: S.apiToken)
            let sessions = try #require(state.json["active_breakglass_sessions"] as? [[String: Any]])
            #expect(sessions.map { $0["grant_ref"] as? String } == [id])
        }
    }

    @Test func screensCannotBeSkipped() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await walker.login()
            #expect(try await walker.get("/console/scope").location == "/console/tenant")
            #expect(
                try await walker.post("/console/submit", [("acknowledge", "yes"), ("action", "submit")]).location
                    == "/console/tenant")
            #expect(await sim.state.grants.isEmpty)
        }
    }

    @Test func validationErrorsStayOnTheScreen() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await walker.login()
            let unknown = try await walker.post(
                "/console/tenant", [("tenant_id", "tnt-nope"), ("external_reference", "X"), ("action", "next")])
            #expect(unknown.status == 422)
            #expect(unknown.screen == "tenant")
            #expect(unknown.text.contains("Tenant not found"))
            try await walker.postFollow(
                "/console/tenant", [("tenant_id", "tnt-4f9a2c"), ("external_reference", "X"), ("action", "next")])
            try await walker.postFollow("/console/tenant/verify", [("action", "next")])
            try await walker.postFollow("/console/incident", [("incident_id", "INC-5521"), ("action", "next")])
            try await walker.postFollow("/console/incident/verify", [("action", "next")])
            let none = try await walker.post("/console/scope", [("action", "next")])
            #expect(none.status == 422)
            #expect(none.text.contains("Select at least one scope."))
            try await walker.postFollow("/console/scope", [("scope", "admins.restore"), ("action", "next")])
            let tooLong = try await walker.post(
                "/console/expiration", [("duration_minutes", "481"), ("action", "next")])
            #expect(tooLong.status == 422)
            #expect(tooLong.text.contains("between 1 and 480"))
            try await walker.postFollow("/console/expiration", [("duration_minutes", "30"), ("action", "next")])
            let badHash = try await walker.post(
                "/console/approvals",
                [
                    ("approval_references", "APR-1"), ("packet_id", "PKT-77"),
                    ("packet_sha256", "abc"), ("action", "next"),
                ])
            #expect(badHash.status == 422)
            #expect(badHash.text.contains("64 hexadecimal"))
        }
    }

    @Test func draftsAreSavedAndReopened() async throws {
        try await S.withSimulator { sim in
            let walker = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await walker.login()
            try await walker.postFollow(
                "/console/tenant",
                [("tenant_id", "tnt-7b21d0"), ("external_reference", "CASE-88130/tnt-7b21d0"), ("action", "next")])
            try await walker.postFollow("/console/tenant/verify", [("action", "next")])
            try await walker.postFollow("/console/incident", [("incident_id", "INC-5530"), ("action", "next")])
            try await walker.postFollow("/console/incident/verify", [("action", "next")])
            let saved = try await walker.postFollow(
                "/console/scope", [("scope", "users.reset-mfa"), ("action", "save-draft")])
            #expect(saved.screen == "draft-saved")
            let draftID = try #require(saved.firstMatch(#"id="draft-id">(DRAFT-[A-Z0-9]{8})<"#))
            #expect(saved.firstMatch(#"id="draft-screen">([a-z-]+)<"#) == "scope")

            // A fresh session reopens the draft at the scope screen with its values.
            let other = ConsoleHTTPWalker(baseURL: sim.baseURL)
            try await other.login()
            let reopen = try await other.get("/console/drafts/\(draftID)")
            #expect(reopen.location == "/console/scope")
            let scope = try await other.get("/console/scope")
            #expect(
                scope.text.contains(
                    #"value="users.reset-mfa" id="scope-users-reset-mfa" data-scope="users.reset-mfa" checked"#))
            #expect(!scope.text.contains(#"value="audit.read" id="scope-audit-read" data-scope="audit.read" checked"#))
            #expect(try await other.get("/console/drafts/DRAFT-NOPE0000").status == 404)
            #expect(await sim.state.grants.isEmpty)
        }
    }
}
