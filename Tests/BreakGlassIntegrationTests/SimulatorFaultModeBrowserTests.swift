import BreakGlassConsole
import BreakGlassSimulator
import Foundation
import Testing

/// Each fault mode of the reference console, seen in a real headless Chromium: what the page shows.
@Suite("Simulator fault modes in a real browser", .serialized)
struct SimulatorFaultModeBrowserTests {
    typealias B = SimulatorBrowserSupport
    static let acme = "tnt-4f9a2c"
    static let reference = "CASE-88121/tnt-4f9a2c"

    @Test func idDriftRenamesTheExpectedIds() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"id_drift": ["scope"]}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            // Screens without drift keep their ids.
            #expect(try await console.exists("#tenant-display-id"))
            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#next")
            try await console.click("#next")
            #expect(try await console.screen() == "scope")
            #expect(try await console.exists("#scope-admins-restore") == false)
            #expect(try await console.exists("#next") == false)
            #expect(try await console.exists("#scope-admins-restore-v2"))
            #expect(try await console.exists("#next-v2"))

            // Global drift on the login screen: the login form's ids are gone.
            try await B.setFaults(sim, #"{"id_drift": ["login"]}"#)
            try await console.session.deleteAllCookies()
            try await console.session.navigate(to: sim.baseURL + "/console/login")
            #expect(try await console.screen() == "login")
            #expect(try await console.exists("#username") == false)
            #expect(try await console.exists("#username-v2"))
        }
    }

    @Test func broaderScopeComesPrecheckedAndLocked() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"broader_scope_prechecked": true}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#next")
            try await console.click("#next")
            let broad = try await console.session.findElement(css: "#scope-tenant-full-admin")
            #expect(try await console.session.isSelected(broad))
            try await console.session.click(broad)  // the console keeps it checked
            #expect(try await console.session.isSelected(broad))
            #expect(try await console.session.attribute("data-locked", of: broad) == "true")
            try await console.setCheckbox("#scope-admins-restore", true)
            try await console.click("#next")
            try await console.type("#duration-minutes", "60")
            try await console.click("#next")
            try await console.type("#approval-references", "APR-1")
            try await console.type("#packet-id", "PKT-77")
            try await console.type("#packet-sha256", BrowserConsole.packetSHA)
            try await console.click("#next")
            let scopes = try await console.session.executeScript(
                "return Array.from(document.querySelectorAll('#summary-scopes li')).map(e => e.textContent);")
            #expect(scopes.array?.contains("tenant.full-admin") == true)
        }
    }

    @Test func expirationControlMissing() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"expiration_control_missing": true}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#next")
            try await console.click("#next")
            try await console.setCheckbox("#scope-admins-restore", true)
            try await console.click("#next")
            #expect(try await console.screen() == "expiration")
            #expect(try await console.exists("#duration-minutes") == false)
            #expect(try await console.exists("input[name=duration_minutes]") == false)
            #expect(try await console.text("#duration-default").contains("480 minutes"))
        }
    }

    @Test func existingSessionBanner() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            // A real unexpired session in IAM (fixtures) shows the banner without any fault.
            try await console.lookUpTenant("tnt-3e5a77", reference: "CASE-88150/tnt-3e5a77")
            #expect(try await console.exists("#existing-session-banner"))
            #expect(try await console.text("#existing-session-ref") == "BG-7Q2M9XK4")

            // The fault shows it for a tenant without one.
            try await B.setFaults(sim, tenant: Self.acme, #"{"existing_session_banner": true}"#)
            try await console.session.navigate(to: sim.baseURL + "/console/tenant?new=1")
            try await console.type("#tenant-id", Self.acme)
            try await console.type("#external-reference", Self.reference)
            try await console.click("#next")
            #expect(try await console.screen() == "tenant-verify")
            let banner = try await console.session.findElement(css: "#existing-session-banner")
            #expect(try await console.session.isDisplayed(banner))
            #expect(
                try await console.session.text(of: banner).contains("An unexpired break-glass session already exists"))
        }
    }

    @Test func wrongTenantShownAfterLookup() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"wrong_tenant_after_lookup": true}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            #expect(try await console.screen() == "tenant-verify")
            let shown = try await console.text("#tenant-display-id")
            #expect(shown != Self.acme)
            #expect(try await console.text("#tenant-display-name") != "Acme Corp")
        }
    }

    @Test func slowPagesArriveLate() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, #"{"page_delay_ms": 1500}"#)
            let clock = ContinuousClock()
            let started = clock.now
            try await console.session.navigate(to: sim.baseURL + "/console/login")
            #expect(clock.now - started >= .milliseconds(1500))
            #expect(try await console.screen() == "login")
            // A page-load timeout shorter than the delay: the driver reports `timeout`.
            try await console.session.setTimeouts(.init(pageLoad: .milliseconds(300)))
            let error = await #expect(throws: WebDriverError.self) {
                try await console.session.navigate(to: sim.baseURL + "/console/login?again=1")
            }
            #expect(error?.code == .timeout)
        }
    }

    @Test func errorPageAtAChosenStep() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"error_at_screen": "incident"}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            try await console.click("#next")
            #expect(try await console.screen() == "error")
            #expect(try await console.text("h1") == "Console error")
            #expect(try await console.text("#error-code") == "internal")
            #expect(try await console.exists("#incident-id") == false)
        }
    }

    @Test func errorAtSubmitGrantsNothing() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"error_at_screen": "submit"}"#)
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            #expect(try await console.screen() == "error")
            #expect(await sim.state.grants.isEmpty)
            #expect(try await B.iamGrantRefs(sim, tenant: Self.acme).isEmpty)
        }
    }

    @Test func sessionExpiresMidFlow() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"session_expires_at_screen": "scope"}"#)
            try await console.lookUpTenant(Self.acme, reference: Self.reference)
            try await console.click("#next")
            try await console.type("#incident-id", "INC-5521")
            try await console.click("#next")
            try await console.click("#next")
            #expect(try await console.screen() == "login")
            #expect(try await console.exists("#session-expired-banner"))
            // The old session is gone for good.
            try await console.session.navigate(to: sim.baseURL + "/console/incident")
            #expect(try await console.screen() == "login")
        }
    }

    @Test func ambiguousConfirmationHasNoID() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"ambiguous_confirmation": true}"#)
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            #expect(try await console.screen() == "confirmation")
            #expect(try await console.exists("#confirmation-id") == false)
            #expect(try await console.text("#confirmation-status") == "pending")
            #expect(try await console.session.pageSource().contains("BG-") == false)
            // The grant was made: IAM and the active-grants page know it (reconciliation finds it).
            #expect(await sim.state.grantCount(tenantID: Self.acme, externalReference: Self.reference) == 1)
            let refs = try await B.iamGrantRefs(sim, tenant: Self.acme)
            #expect(refs.count == 1)
            try await console.session.navigate(
                to: sim.baseURL + "/console/grants?external_reference=CASE-88121%2Ftnt-4f9a2c")
            let row = try await console.session.findElement(css: "tr.grant-row")
            #expect(try await console.session.attribute("data-confirmation-id", of: row) == refs.first)
        }
    }

    @Test func confirmationNeverArrives() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(
                sim, tenant: Self.acme, #"{"confirmation_hang": true, "confirmation_hang_ms": 60000}"#)
            try await console.walkAcme()
            try await console.setCheckbox("#acknowledge", true)
            try await console.session.setTimeouts(.init(pageLoad: .seconds(2)))
            let submit = try await console.session.findElement(css: "#submit")
            let error = await #expect(throws: WebDriverError.self) {
                try await console.session.clickAndWaitForNavigation(submit, timeout: .seconds(3))
            }
            #expect(error?.code.isTimeout == true)
            // Granted nevertheless.
            #expect(await sim.state.grantCount(tenantID: Self.acme, externalReference: Self.reference) == 1)
            #expect(try await B.iamGrantRefs(sim, tenant: Self.acme).count == 1)
        }
    }

    @Test func grantAbsentFromIAM() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await B.setFaults(sim, tenant: Self.acme, #"{"grant_absent_from_iam": true}"#)
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            #expect(try await console.screen() == "confirmation")
            let id = try await console.text("#confirmation-id")
            #expect(id.hasPrefix("BG-"))
            #expect(try await B.iamGrantRefs(sim, tenant: Self.acme).isEmpty)
            #expect(await sim.state.grantCount(tenantID: Self.acme, externalReference: Self.reference) == 1)
        }
    }

    @Test func revokeFailures() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        try await B.withConsole { sim, console in
            try await console.walkAcme()
            try await console.acknowledgeAndSubmit()
            let id = try await console.text("#confirmation-id")

            func revoke() async throws {
                try await console.session.navigate(to: sim.baseURL + "/console/grants/\(id)/revoke")
                #expect(try await console.screen() == "revoke")
                try await console.type("#revoke-reason", "done")
                try await console.setCheckbox("#revoke-confirm", true)
                try await console.click("#revoke-submit")
            }
            try await B.setFaults(sim, tenant: Self.acme, #"{"revoke_failure": "error"}"#)
            try await revoke()
            #expect(try await console.screen() == "error")
            #expect(try await console.text("#error-code") == "revoke-failed")
            #expect(try await B.iamGrantRefs(sim, tenant: Self.acme) == [id])

            try await B.setFaults(sim, tenant: Self.acme, #"{"revoke_failure": "silent"}"#)
            try await revoke()
            #expect(try await console.screen() == "revoke-result")
            #expect(try await console.text("#revoke-status") == "revoked")
            // The console says revoked; IAM still has the session.
            #expect(try await B.iamGrantRefs(sim, tenant: Self.acme) == [id])
        }
    }
}
