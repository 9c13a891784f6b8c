import BreakGlassCore
import Testing

@testable import BreakGlassConsole

/// `ConsoleSession.evaluate`: the assertion rules on what the one-script read saw (issue 21), without a browser.
@Suite("Console assertions evaluated on a page reading")
struct ConsoleAssertionEvaluationTests {
    let context = ConsoleValue.Context(
        request: ConsoleTestRequests.request(), username: "svc", password: Secret("console-password-canary"))

    func assertion(
        _ kind: String, value: String? = nil, attribute: String? = nil, phase: String? = nil
    ) -> ConsoleMap.Assertion {
        ConsoleMap.Assertion(
            kind: kind, selector: ".x", value: value, attribute: attribute, separator: nil,
            reason: "CONSOLE_TENANT_MISMATCH", phase: phase, note: nil)
    }

    func text(_ text: String) -> ConsoleSession.Seen { .init(text: text, value: nil, selected: false, attribute: nil) }

    func box(_ value: String, checked: Bool) -> ConsoleSession.Seen {
        .init(text: "", value: value, selected: checked, attribute: value)
    }

    func failure(_ assertion: ConsoleMap.Assertion, _ seen: [ConsoleSession.Seen]) -> ConsoleFailure? {
        do throws(ConsoleFailure) {
            try ConsoleSession.evaluate(assertion, seen, context: context, masker: Masker(), screen: "s")
            return nil
        } catch {
            return error
        }
    }

    @Test("text_equals holds for every match: a hidden stale row (read as empty) or another tenant's row fails")
    func everyMatch() {
        let equals = assertion("text_equals", value: "tenant.id")
        #expect(failure(equals, [text("  tnt-4f9a2c \n")]) == nil)
        #expect(failure(equals, []).map(\.detail)?.contains("no element matches") == true)
        let stale = failure(equals, [text("tnt-4f9a2c"), text("")])
        #expect(stale?.reasons == [.consoleTenantMismatch])
        #expect(stale?.detail.contains("match 2 of 2") == true)
        #expect(failure(equals, [text("tnt-4f9a2c"), text("tnt-other")]) != nil)
        #expect(failure(assertion("text_contains", value: "tenant.id"), [text("Tenant tnt-4f9a2c (Acme)")]) == nil)
    }

    @Test("value_equals reads the value property; a non-string value counts as empty")
    func valueEquals() {
        let equals = assertion("value_equals", value: "duration_minutes")
        #expect(failure(equals, [.init(text: "", value: "120", selected: false, attribute: nil)]) == nil)
        #expect(failure(equals, [.init(text: "120", value: nil, selected: false, attribute: nil)]) != nil)
    }

    @Test("checked kinds compare the selected boxes' attribute values with the approved scopes")
    func checked() {
        let exactly = assertion("checked_exactly", value: "scopes")
        let approved = [box("admins.restore", checked: true), box("users.reset-mfa", checked: true)]
        #expect(failure(exactly, approved + [box("billing.admin", checked: false)]) == nil)
        let broader = failure(
            assertion("checked_subset_of", value: "scopes", phase: "before_fill"),
            [box("admins.restore", checked: true), box("billing.admin", checked: true)])
        #expect(
            broader?.detail.contains("pre-selected [admins.restore, billing.admin]; not approved: billing.admin")
                == true)
        #expect(
            failure(exactly, [box("admins.restore", checked: true)])?.detail.contains("missing: users.reset-mfa")
                == true)
    }

    @Test("list_equals, count_equals, present and absent")
    func lists() {
        let list = assertion("list_equals", value: "scopes", attribute: "data-scope")
        func row(_ scope: String) -> ConsoleSession.Seen {
            .init(text: "x", value: nil, selected: false, attribute: scope)
        }
        #expect(failure(list, [row("users.reset-mfa"), row("admins.restore")]) == nil)
        #expect(failure(list, [row("admins.restore"), row("admins.restore"), row("users.reset-mfa")]) != nil)
        #expect(failure(assertion("count_equals", value: "scopes"), [text("a"), text("b")]) == nil)
        #expect(failure(assertion("present"), []) != nil)
        #expect(failure(assertion("absent"), [text("banner")])?.detail.contains("1 element(s) match") == true)
    }

    @Test("what was seen is masked in the failure")
    func masked() {
        let seen = failure(assertion("text_equals", value: "tenant.id"), [text("owner jane.doe@acme.example")])
        #expect(seen != nil)
        #expect(seen?.detail.contains("jane.doe@acme.example") == false)
    }
}
