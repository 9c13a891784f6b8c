import BreakGlassConsole
import BreakGlassSimulator
import Foundation
import Testing

/// The reference console walked in a real headless Chromium (chromedriver) through `WebDriverClient`.
@Suite("Simulator console in a real browser", .serialized)
struct SimulatorConsoleBrowserTests {
    typealias B = SimulatorBrowserSupport

    @Test func happyPathGrantsOnceAndShowsInIAMAndGrantList() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.lookUpTenant("tnt-4f9a2c", reference: "CASE-88121/tnt-4f9a2c")
            #expect(try await console.screen() == "tenant-verify")
            #expect(try await console.text("h1") == "Verify tenant")
            #expect(try await console.text("#tenant-display-id") == "tnt-4f9a2c")
            #expect(try await console.text("#tenant-display-name") == "Acme Corp")
            #expect(try await console.text("#tenant-display-region") == "eu-west-1")
            #expect(try await console.text("#tenant-contact-email") == "jane.doe@acme.example")
            #expect(try await console.exists("#existing-session-banner") == false)

            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#next")
            #expect(
                try await console.text("#incident-title")
                    == "Tenant administrators locked out after IdP certificate rotation")
            #expect(try await console.text("#incident-status") == "active")
            try await console.click("#next")

            // Scope screen: admins.restore comes pre-checked (inside the approved set: a pre-selection outside it halts
            // the worker, issue 19.1); the walker ends with exactly the approved scopes.
            #expect(try await console.screen() == "scope")
            let restore = try await console.session.findElement(css: "#scope-admins-restore")
            #expect(try await console.session.isSelected(restore))
            try await console.setCheckbox("#scope-admins-restore", true)
            try await console.setCheckbox("#scope-users-reset-mfa", true)
            let checked = try await console.session.executeScript(
                "return Array.from(document.querySelectorAll('input[name=scope]:checked')).map(e => e.value);")
            #expect(checked == ["admins.restore", "users.reset-mfa"])
            try await console.click("#next")

            #expect(try await console.screen() == "expiration")
            #expect(try await console.text("#duration-max") == "480")
            try await console.type("#duration-minutes", "120")
            // The page's script previews the expiry as the value is typed.
            #expect(try await console.text("#expires-preview").hasPrefix("Access would expire at about"))
            try await console.click("#next")

            try await console.type("#approval-references", "APR-1, APR-2, APR-3")
            try await console.type("#packet-id", "PKT-77")
            try await console.type("#packet-sha256", BrowserConsole.packetSHA)
            try await console.click("#next")

            #expect(try await console.screen() == "acknowledgement")
            #expect(try await console.text("#summary-tenant-id") == "tnt-4f9a2c")
            #expect(try await console.text("#summary-tenant-name") == "Acme Corp")
            #expect(try await console.text("#summary-external-reference") == "CASE-88121/tnt-4f9a2c")
            #expect(try await console.text("#summary-incident-id") == "INC-5521")
            #expect(try await console.text("#summary-duration-minutes") == "120")
            #expect(try await console.text("#summary-approval-references") == "APR-1, APR-2, APR-3")
            #expect(try await console.text("#summary-packet-id") == "PKT-77")
            #expect(try await console.text("#summary-packet-sha256") == BrowserConsole.packetSHA)
            let scopes = try await console.session.findElements(css: "#summary-scopes li.summary-scope")
            var shown: [String] = []
            for item in scopes { shown.append(try await console.session.text(of: item)) }
            #expect(shown == ["admins.restore", "users.reset-mfa"])
            // Submit stays disabled (JavaScript) until the acknowledgement is ticked.
            let submit = try await console.session.findElement(css: "#submit")
            #expect(try await console.session.isEnabled(submit) == false)
            try await console.setCheckbox("#acknowledge", true)
            #expect(try await console.session.isEnabled(submit))
            try await console.session.clickAndWaitForNavigation(submit, timeout: .seconds(20))

            #expect(try await console.screen() == "confirmation")
            let id = try await console.text("#confirmation-id")
            #expect(id.wholeMatch(of: /BG-[A-Z0-9]{8}/) != nil)
            #expect(try await console.text("#confirmation-status") == "active")
            let expiresAt = try await console.text("#confirmation-expires-at")
            let expiry = try #require(SimulatorTime.parse(expiresAt))
            #expect(abs(expiry.timeIntervalSinceNow - 7200) < 120)

            #expect(try await B.iamGrantRefs(sim, tenant: "tnt-4f9a2c") == [id])
            #expect(await sim.state.grantCount(tenantID: "tnt-4f9a2c", externalReference: "CASE-88121/tnt-4f9a2c") == 1)

            // Active grants page lists it with its external reference.
            try await console.click("#nav-grants")
            #expect(try await console.screen() == "grants")
            try await console.type("#grants-tenant-id", "tnt-4f9a2c")
            try await console.type("#grants-external-reference", "CASE-88121/tnt-4f9a2c")
            try await console.click("#grants-search")
            let rows = try await console.session.findElements(css: "tr.grant-row")
            #expect(rows.count == 1)
            #expect(try await console.session.attribute("data-confirmation-id", of: rows[0]) == id)
            #expect(try await console.text("tr.grant-row .grant-external-reference") == "CASE-88121/tnt-4f9a2c")

            // A PNG screenshot of the page.
            let png = try await console.session.screenshot()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        }
    }

    @Test func secondSubmissionWithTheSameReferenceIsRefused() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            let id = try await console.text("#confirmation-id")
            try await console.session.navigate(to: sim.baseURL + "/console/tenant?new=1")
            try await console.type("#tenant-id", "tnt-4f9a2c")
            try await console.type("#external-reference", "CASE-88121/tnt-4f9a2c")
            try await console.click("#next")
            try await console.continueToAcknowledgement(
                incident: "INC-5521", scopes: ["admins.restore"], minutes: 30,
                approvals: "APR-1", packet: "PKT-77", sha256: BrowserConsole.packetSHA)
            try await console.acknowledgeAndSubmit()
            #expect(try await console.screen() == "grant-exists")
            #expect(try await console.text("#error-message") == "grant already exists: \(id)")
            #expect(await sim.state.grantCount(tenantID: "tnt-4f9a2c", externalReference: "CASE-88121/tnt-4f9a2c") == 1)
            #expect(try await B.iamGrantRefs(sim, tenant: "tnt-4f9a2c") == [id])
        }
    }

    @Test func noCookieMeansLoginAndForgedFormIsRefused() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.session.navigate(to: sim.baseURL + "/console/scope")
            #expect(try await console.screen() == "login")
            try await console.login()
            #expect(try await console.screen() == "tenant")
            // The session cookie is HttpOnly: page scripts cannot read it.
            let cookies = try await console.session.executeScript("return document.cookie;")
            #expect(cookies == "")
            // Tamper with the form's CSRF token in the page, then submit: refused, nothing applied.
            try await console.session.executeScript(
                "document.querySelector('#tenant-form input[name=csrf_token]').value = 'forged';")
            try await console.type("#tenant-id", "tnt-4f9a2c")
            try await console.type("#external-reference", "FORGED-1")
            try await console.click("#next")
            #expect(try await console.screen() == "error")
            #expect(try await console.text("#error-code") == "csrf")
            // Cookies cleared: back to login.
            try await console.session.deleteAllCookies()
            try await console.session.navigate(to: sim.baseURL + "/console/tenant")
            #expect(try await console.screen() == "login")
        }
    }

    @Test func saveDraftThenReopenIt() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.lookUpTenant("tnt-4f9a2c", reference: "CASE-88121/tnt-4f9a2c")
            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#save-draft")
            #expect(try await console.screen() == "draft-saved")
            let draft = try await console.text("#draft-id")
            #expect(draft.wholeMatch(of: /DRAFT-[A-Z0-9]{8}/) != nil)
            try await console.session.navigate(to: sim.baseURL + "/console/tenant?new=1")
            try await console.session.navigate(to: sim.baseURL + "/console/drafts/\(draft)")
            #expect(try await console.screen() == "incident")
            let value = try await console.session.property(
                "value", of: console.session.findElement(css: "#incident-id"))
            #expect(value == "INC-5521")
            #expect(await sim.state.grants.isEmpty)
        }
    }

    @Test func revokeRemovesTheSessionFromIAM() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            let id = try await console.text("#confirmation-id")
            try await console.session.navigate(to: sim.baseURL + "/console/grants?tenant_id=tnt-4f9a2c")
            try await console.click("tr.grant-row[data-confirmation-id='\(id)'] a.grant-revoke")
            #expect(try await console.screen() == "revoke")
            #expect(try await console.text("#revoke-confirmation-id") == id)
            try await console.type("#revoke-reason", "incident resolved")
            try await console.setCheckbox("#revoke-confirm", true)
            try await console.click("#revoke-submit")
            #expect(try await console.screen() == "revoke-result")
            #expect(try await console.text("#revoke-status") == "revoked")
            #expect(try await B.iamGrantRefs(sim, tenant: "tnt-4f9a2c").isEmpty)
            // Revoked grants still count: never granted twice.
            #expect(await sim.state.grantCount(tenantID: "tnt-4f9a2c", externalReference: "CASE-88121/tnt-4f9a2c") == 1)
        }
    }
}
