import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import Foundation
import Testing

/// Issue 19: the console map language's second edition, against the reference simulator in a real Chromium.
@Suite(
    "Console map language (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleMapLanguageTests {
    /// 19.1: a console that pre-ticks a broader privilege, unlocked. Before the before-fill check the worker unticked
    /// it, the after-fill check passed and the grant was made (seen with the earlier reference map).
    @Test(
        "a broader scope pre-selected (unlocked): halted CONSOLE_SCOPE_DRIFT before any tick, naming what was pre-selected"
    )
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
        let passing = adding(
            """
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
        let missingOne = adding(
            """
                  - { kind: text_set_equals, selector: "#summary-approval-references", separator: ",", value: "literal:APR-3, APR-1", reason: CONSOLE_UNEXPECTED_SCREEN, phase: before_fill }
            """)
        try await ConsoleHarness.run(mapYAML: missingOne) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [.consoleUnexpectedScreen])
            #expect(
                record.note?.contains("lists [APR-1, APR-2, APR-3], expected [APR-1, APR-3]") == true,
                "\(record.note ?? "")")
            #expect(await h.grantCount(request) == 0)
        }
        let wrongCount = adding(
            """
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

    /// 19.4: a console without a marker attribute names its pages by their heading. Without a marker an unrecognised
    /// page is CONSOLE_TIMEOUT naming nothing; with `screen_marker: { selector: h1 }` it is CONSOLE_UNEXPECTED_SCREEN
    /// naming the screen the console showed.
    @Test("screens named by their heading: an unexpected page halts CONSOLE_UNEXPECTED_SCREEN naming it")
    func headingMarker() async throws {
        // Without the reference map's watch rule for its sign-in page (a console map author may not know that page).
        let unwatched: (String) -> String = { yaml in
            yaml.replacingOccurrences(
                of: """
                      - name: session-expired
                        selector: "main[data-screen=login]"
                        except: [login]
                        reason: CONSOLE_UNEXPECTED_SCREEN
                        note: the console sent the browser back to its login page (session expired)

                    """, with: "")
        }
        let headings: (String) -> String = { yaml in
            unwatched(yaml).replacingOccurrences(
                of: "screen_marker: { selector: \"main[data-screen]\", attribute: data-screen }",
                with: "screen_marker: { selector: h1 }"
            )
            .replacingOccurrences(
                of: "  - name: login\n", with: "  - name: login\n    marker: Sign in to the emergency admin console\n")
        }
        let none: (String) -> String = { yaml in
            unwatched(yaml).replacingOccurrences(
                of: "screen_marker: { selector: \"main[data-screen]\", attribute: data-screen }\n", with: "")
        }
        for (edit, reason, named) in [
            (headings, ReasonCode.consoleUnexpectedScreen, true), (none, .consoleTimeout, false),
        ] {
            try await ConsoleHarness.run(pageLoad: .seconds(2), mapYAML: edit) { h in
                // The session ends at the scope screen: the console shows its sign-in page instead.
                await h.sim.state.setGlobalFaults(.init(sessionExpiresAtScreen: "scope"))
                let request = ConsoleHarness.request()
                let outcome = await h.driver.submit(request, hooks: h.hooks())
                let record = try #require(outcome.takeover)
                #expect(record.reasons == [reason])
                let note = record.note ?? ""
                #expect(
                    note.contains("the console shows screen login (\"Sign in to the emergency admin console\")")
                        == named, "\(note)")
                #expect(await h.grantCount(request) == 0)
            }
        }
    }

    // MARK: - 19.5: a second console, driven by its own map with no code

    @Test(
        "the alternate console (no ids, headings only, another order) is driven by alternate.yaml: one verified grant")
    func alternateConsoleGrant() async throws {
        try await ConsoleHarness.run(mapFile: "alternate.yaml", layout: .alternate) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let grant = try #require(outcome.grant, "\(String(describing: outcome.takeover?.note))")
            let made = await h.grants(request)
            #expect(made.count == 1)
            // The id came out of the confirmation sentence by the map's one-group pattern.
            #expect(grant.confirmationID == made.first?.confirmationID)
            #expect(grant.verifiedInIAM)
            #expect(made.first?.scopes.sorted() == ["admins.restore", "users.reset-mfa"])
            #expect(made.first?.durationMinutes == 120)
            #expect(try h.verifyAll() == 1)
            try h.expectNoCanaries()
        }
    }

    @Test(
        "the alternate console's anomalies halt with their codes through its map",
        arguments: [
            (FaultModes(broaderScopePreselected: true), ReasonCode.consoleScopeDrift),
            (FaultModes(wrongTenantAfterLookup: true), .consoleTenantMismatch),
            (FaultModes(existingSessionBanner: true), .consoleExistingSession),
            (FaultModes(expirationControlMissing: true), .consoleExpiryControlMissing),
        ])
    func alternateConsoleHalts(_ faults: FaultModes, _ reason: ReasonCode) async throws {
        try await ConsoleHarness.run(mapFile: "alternate.yaml", layout: .alternate) { h in
            await h.sim.state.setGlobalFaults(faults)
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(record.reasons == [reason], "\(record.note ?? "")")
            #expect(!outcome.clicked)
            #expect(await h.grantCount(request) == 0)
        }
    }

    @Test("the reference map does not drive the alternate console: it halts naming the page it saw, never clicks")
    func referenceMapOnTheAlternateConsole() async throws {
        try await ConsoleHarness.run(pageLoad: .seconds(2), layout: .alternate) { h in
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover)
            #expect(!outcome.clicked)
            #expect(
                record.reasons == [.consoleTimeout] || record.reasons == [.consoleUnexpectedScreen], "\(record.reasons)"
            )
            #expect(await h.grantCount(request) == 0)
        }
    }

    // MARK: - 19.6: console record

    @Test("console record walks the flow up to, never including, the final submit: every page's facts, masked")
    func recordStopsBeforeTheSubmit() async throws {
        try await ConsoleHarness.run { h in
            let request = ConsoleHarness.request()
            let folder = try TestEnvironment.scratchDirectory("console-record")
            let recording = await h.driver.record(request, into: folder)
            #expect(recording.stoppedBecause.hasPrefix("before the final submit"), "\(recording.stoppedBecause)")
            #expect(
                recording.pages.map(\.screen) == [
                    "login", "tenant", "tenant-verify", "incident", "incident-verify", "scope",
                    "expiration", "approvals", "acknowledgement",
                ])
            #expect(await h.grantCount(request) == 0)
            let login = try #require(recording.pages.first)
            #expect(login.headings.first == "Sign in to the emergency admin console")
            #expect(login.fields.contains { $0.selector == "#password" && $0.type == "password" && $0.value == nil })
            #expect(login.buttons.contains { $0.selector == "#login-submit" })
            let scope = try #require(recording.pages.first { $0.screen == "scope" })
            #expect(
                scope.fields.contains { $0.selector == "#scope-admins-restore" && $0.checked == true },
                "\(scope.fields)")
            let review = try #require(recording.pages.last)
            #expect(review.values.contains { $0.selector == "#summary-tenant-id" && $0.text == "tnt-4f9a2c" })
            #expect(review.buttons.contains { $0.selector == "#submit" })
            for page in recording.pages {
                let shot = try #require(page.screenshot)
                #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(shot).path))
            }
            // Nothing secret in what a map author reads: not the password, not the personal e-mail on the tenant page.
            let json = String(decoding: try JSONEncoder().encode(recording), as: UTF8.self)
            #expect(!json.contains(ConsoleHarness.consolePassword))
            #expect(!json.contains(ConsoleHarness.contactEmail))
        }
    }

    @Test("console record stops at the first page the map cannot take and records what that page shows")
    func recordStopsAtAnUnknownPage() async throws {
        // A map author's first draft for the alternate console: its second screen is recognised by the wrong heading.
        let draft: (String) -> String = { yaml in
            yaml.replacingOccurrences(
                of: "    recognize: { selector: h1, text: Incident reference }",
                with: "    recognize: { selector: h1, text: Incident number }"
            )
            .replacingOccurrences(of: "    marker: Incident reference\n", with: "")
        }
        try await ConsoleHarness.run(
            pageLoad: .seconds(2), mapYAML: draft, mapFile: "alternate.yaml", layout: .alternate
        ) { h in
            let folder = try TestEnvironment.scratchDirectory("console-record")
            let recording = await h.driver.record(ConsoleHarness.request(), into: folder)
            #expect(recording.pages.count == 2)
            #expect(recording.pages.first?.screen == "login")
            let unknown = try #require(recording.pages.last)
            #expect(unknown.screen == nil)
            #expect(unknown.headings.first == "Incident reference")
            #expect(unknown.fields.contains { $0.selector == "input[name=\"incident_id\"]" })
            #expect(unknown.buttons.contains { $0.selector == "button[name=\"action\"][value=\"next\"]" })
            #expect(recording.stoppedBecause.contains("CONSOLE_UNEXPECTED_SCREEN"), "\(recording.stoppedBecause)")
        }
    }
}
