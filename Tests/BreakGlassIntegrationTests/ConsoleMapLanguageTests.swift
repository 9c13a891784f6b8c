import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import Foundation
import Testing

/// Issue 19: the console map language's second edition, against the reference simulator in a real Chromium.
@Suite("Console map language (Chromium + simulator)", .serialized, .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleMapLanguageTests {
    /// 19.1: a console that pre-ticks a broader privilege, unlocked. Before the before-fill check the worker unticked
    /// it, the after-fill check passed and the grant was made (seen with the earlier reference map).
    @Test("a broader scope pre-selected (unlocked): halted CONSOLE_SCOPE_DRIFT before any tick, naming what was pre-selected")
    func broaderPreselectionHaltsBeforeFill() async throws {
        try await ConsoleHarness.run { h in
            await h.sim.state.setGlobalFaults(.init(broaderScopePreselected: true))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover, "expected a halt, got \(String(describing: outcome.grant))")
            #expect(record.reasons == [.consoleScopeDrift])
            #expect(record.screen == "scope")
            let note = record.note ?? ""
            #expect(note.contains("pre-selected [admins.restore, tenant.full-admin]"), "\(note)")
            #expect(note.contains("not approved: tenant.full-admin"), "\(note)")
            #expect(note.contains("approved [admins.restore, users.reset-mfa]"), "\(note)")
            // Nothing was touched on the scope screen: no scope was entered.
            #expect(record.enteredValues["scopes"] == nil)
            #expect(!outcome.clicked)
            #expect(await h.grantCount(request) == 0)
        }
    }

    /// 19.2: order-free and counting assertions. The review screen lists the approval references as one text in the
    /// request's order; a map comparing it to another order as a set passes, where `text_equals` halted.
    @Test("text_set_equals is order-free, count_equals counts; both halt with their reason when they do not hold")
    func setAndCountAssertions() async throws {
        func adding(_ assertions: String) -> (String) -> String {
            { yaml in
                yaml.replacingOccurrences(
                    of: "      - { kind: list_equals, selector: \"#summary-scopes li.summary-scope\"",
                    with: assertions + "\n      - { kind: list_equals, selector: \"#summary-scopes li.summary-scope\"")
            }
        }
        let passing = adding("""
              - { kind: text_set_equals, selector: "#summary-approval-references", separator: ",", value: "literal:APR-3, APR-1,APR-2", reason: CONSOLE_UNEXPECTED_SCREEN, phase: before_fill }
              - { kind: text_set_equals, selector: "#summary-approval-references", separator: ",", value: approval_refs, reason: CONSOLE_UNEXPECTED_SCREEN, phase: before_fill }
              - { kind: count_equals, selector: "#summary-scopes li.summary-scope", value: scopes, reason: CONSOLE_SCOPE_DRIFT, phase: before_fill }
              - { kind: count_equals, selector: "#summary-scopes li.summary-scope", value: "literal:2", reason: CONSOLE_SCOPE_DRIFT, phase: before_fill }
        """)
        try await ConsoleHarness.run(mapYAML: passing) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            #expect(outcome.grant != nil, "\(String(describing: outcome.takeover?.note))")
            #expect(await h.grantCount(request) == 1)
        }
        let missingOne = adding("""
              - { kind: text_set_equals, selector: "#summary-approval-references", separator: ",", value: "literal:APR-3, APR-1", reason: CONSOLE_UNEXPECTED_SCREEN, phase: before_fill }
        """)
        try await ConsoleHarness.run(mapYAML: missingOne) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.consoleUnexpectedScreen])
            #expect(record.note?.contains("lists [APR-1, APR-2, APR-3], expected [APR-1, APR-3]") == true, "\(record.note ?? "")")
            #expect(await h.grantCount(request) == 0)
        }
        let wrongCount = adding("""
              - { kind: count_equals, selector: "#summary-scopes li.summary-scope", value: "literal:3", reason: CONSOLE_SCOPE_DRIFT, phase: before_fill }
        """)
        try await ConsoleHarness.run(mapYAML: wrongCount) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.consoleScopeDrift])
            #expect(record.note?.contains("2 element(s) match, expected 3") == true, "\(record.note ?? "")")
        }
    }

    /// 19.3: the "grant already exists" page names the existing grant in a sentence. With `id_pattern` and one capture
    /// group the worker reads the id out of it and goes on to verify that grant; without, it could only call the page
    /// ambiguous (CONFIRMATION_AMBIGUOUS, what the old code did with `id_selector` on the sentence).
    @Test("the existing grant's id is extracted from a sentence by pattern")
    func duplicateIdByPattern() async throws {
        let sentence: (String) -> String = { yaml in
            yaml.replacingOccurrences(
                of: "    id_selector: \"#existing-confirmation-id\"",
                with: "    id_selector: \"#error-message\"\n    id_pattern: \"grant already exists: (BG-[A-Z0-9]{8})\"")
        }
        try await ConsoleHarness.run(verificationWindow: .milliseconds(600), mapYAML: sentence) { h in
            // A first grant the IAM never shows (so no existing-session banner stops the second flow early).
            await h.sim.state.setGlobalFaults(.init(grantAbsentFromIAM: true))
            let request = ConsoleHarness.request()
            let first = await h.driver.submit(request, hooks: h.hooks())
            #expect(first.takeover?.reasons == [.grantUnverified])
            let existing = try #require(await h.grants(request).first?.confirmationID)
            let again = await h.driver.submit(ConsoleHarness.request(requestID: "REQ-IT-2"), hooks: h.hooks())
            let record = try #require(again.takeover)
            // The id came out of the sentence: the worker looked that grant up in IAM (absent there: unverified).
            #expect(record.reasons == [.grantUnverified], "\(record.note ?? "")")
            #expect(record.note?.contains("confirmation \(existing)") == true, "\(record.note ?? "")")
            #expect(await h.grantCount(request) == 1)
        }
    }
}
