import BreakGlassConsole
import BreakGlassCore
import Foundation
import Testing

@Suite("Console map")
struct ConsoleMapTests {
    static let referenceURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/consoles/reference.yaml")

    static func referenceYAML() throws -> String { try String(contentsOf: referenceURL, encoding: .utf8) }

    func issues(_ yaml: String) -> [String] {
        do {
            _ = try ConsoleMap.load(yaml: yaml)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test("the shipped reference map loads and describes the simulator's flow")
    func reference() throws {
        let map = try ConsoleMap.load(file: Self.referenceURL)
        #expect(map.flow.first == "login")
        #expect(map.flow.last == map.submit.screen)
        #expect(map.screen("scope")?.fields.first?.fieldKind == .checkboxes)
        #expect(map.screen("login")?.fields.first { $0.field == "password" }?.isSecret == true)
        #expect(map.revoke != nil)
        #expect(map.draft?.openPath == "/console/drafts/{draft_id}")
    }

    @Test("the second example map (alternate console) passes check-map and names its screens by heading")
    func alternate() throws {
        let map = try ConsoleMap.load(
            file: Self.referenceURL.deletingLastPathComponent().appendingPathComponent("alternate.yaml"))
        #expect(map.screenMarker?.attribute == nil)
        #expect(
            map.flow == [
                "login", "incident", "incident-verify", "tenant", "tenant-verify", "expiration", "scope", "approvals",
                "acknowledgement",
            ])
        #expect(map.screen(marked: "Verify tenant")?.name == "tenant-verify")
        #expect(map.confirmation.duplicate?.idPattern != nil)
    }

    @Test("a missing key is reported with its path")
    func missingKey() throws {
        let yaml = try Self.referenceYAML().replacingOccurrences(of: "start_path: /console/login\n", with: "")
        #expect(issues(yaml) == ["$.start_path: required key is missing"])
    }

    /// Issue 15.2: target-side uniqueness is the last line against a frozen process clicking twice.
    @Test("a map that does not say how the console refuses a second grant for the same reference is refused")
    func duplicatePageIsRequired() throws {
        let yaml = try Self.referenceYAML()
        let start = try #require(yaml.range(of: "  duplicate:\n"))
        var end = start.upperBound
        while end < yaml.endIndex, yaml[end...].hasPrefix("    ") {
            end = yaml[end...].firstIndex(of: "\n").map { yaml.index(after: $0) } ?? yaml.endIndex
        }
        let without = yaml.replacingCharacters(in: start.lowerBound..<end, with: "")
        #expect(issues(without).contains { $0.hasPrefix("$.confirmation.duplicate: required") }, "\(issues(without))")
    }

    @Test("unknown value sources, kinds and reasons are each reported with their path")
    func unknowns() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(
            of: "value: incident.id }\n    buttons", with: "value: incident.number }\n    buttons")
        yaml = yaml.replacingOccurrences(of: "kind: checked_exactly", with: "kind: checked_maybe")
        yaml = yaml.replacingOccurrences(of: "reason: CONSOLE_ERROR", with: "reason: APPROVAL_REVOKED")
        let found = issues(yaml)
        #expect(found.contains { $0.hasPrefix("$.screens[3].fields[0].value: unknown value source incident.number") })
        #expect(found.contains { $0.hasPrefix("$.screens[5].assertions[1].kind: unknown kind checked_maybe") })
        #expect(found.contains("$.watch[1].reason: APPROVAL_REVOKED is not a console reason code (contract §6)"))
        // Removing the scope assertion also breaks the safety rule.
        #expect(found.contains { $0.hasPrefix("$.screens: the flow must assert checked_exactly with value scopes") })
    }

    /// Issue 19.1: a map that only checks the scopes after filling "corrects" a console that pre-selected a broader
    /// privilege, and grants. Seen accepted before the rule (the reference map had no before-fill check).
    @Test("a scope screen without a before-fill subset check on its own selector is refused")
    func beforeFillScopeCheckIsRequired() throws {
        let yaml = try Self.referenceYAML()
        let start = try #require(yaml.range(of: "      - kind: checked_subset_of\n"))
        let end = try #require(
            yaml.range(of: "      - kind: checked_exactly\n", range: start.upperBound..<yaml.endIndex))
        let without = yaml.replacingCharacters(in: start.lowerBound..<end.lowerBound, with: "")
        #expect(
            issues(without).contains { $0.hasPrefix("$.screens[5]: screen scope ticks scopes") }, "\(issues(without))")
        // On another selector, or after filling, it does not count.
        let elsewhere = yaml.replacingOccurrences(
            of: "        phase: before_fill\n        selector: \"input[type=checkbox][name=scope]\"",
            with: "        phase: before_fill\n        selector: \"input[type=checkbox]\"")
        #expect(issues(elsewhere).contains { $0.hasPrefix("$.screens[5]: screen scope ticks scopes") })
        let late = yaml.replacingOccurrences(
            of: "      - kind: checked_subset_of\n        phase: before_fill\n",
            with: "      - kind: checked_subset_of\n        phase: after_fill\n")
        #expect(issues(late).contains { $0.hasPrefix("$.screens[5]: screen scope ticks scopes") })
        #expect(issues(yaml).isEmpty)
    }

    @Test("text_set_equals needs its separator, count_equals a list or a literal count; id patterns take one group")
    func newAssertionKindsAndPatterns() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(
            of: "      - { kind: list_equals, selector: \"#summary-scopes li.summary-scope\"",
            with: """
                      - { kind: text_set_equals, selector: "#summary-approval-references", value: approval_refs, reason: CONSOLE_UNEXPECTED_SCREEN }
                      - { kind: count_equals, selector: "#summary-scopes li", value: tenant.id, reason: CONSOLE_SCOPE_DRIFT }
                      - { kind: count_equals, selector: "#summary-scopes li", value: "literal:3", reason: CONSOLE_SCOPE_DRIFT, separator: "," }
                      - { kind: list_equals, selector: "#summary-scopes li.summary-scope"
                """)
        yaml = yaml.replacingOccurrences(
            of: "    id_selector: \"#existing-confirmation-id\"",
            with: "    id_selector: \"#existing-confirmation-id\"\n    id_pattern: \"(BG)-([A-Z0-9]{8})\"")
        let found = issues(yaml)
        #expect(found.contains { $0.contains(".separator: text_set_equals needs the separator") }, "\(found)")
        #expect(found.contains { $0.contains(".value: count_equals counts a list value") })
        #expect(found.contains { $0.contains(".separator: only text_set_equals splits") })
        #expect(
            found.contains(
                "$.confirmation.duplicate.id_pattern: at most one capture group (the id); use (?:...) for grouping"))
    }

    @Test("an id pattern matches the whole text; its one capture group is the id")
    func idPatternSemantics() {
        #expect(ConsoleIDPattern.extract("BG-ABCDEFGH", pattern: "BG-[A-Z0-9]{8}") == "BG-ABCDEFGH")
        #expect(ConsoleIDPattern.extract("  BG-ABCDEFGH\n", pattern: "^BG-[A-Z0-9]{8}$") == "BG-ABCDEFGH")
        // Anchored: a match inside a longer text is no id (the old code accepted a match anywhere).
        #expect(ConsoleIDPattern.extract("not BG-ABCDEFGH yet", pattern: "BG-[A-Z0-9]{8}") == nil)
        #expect(ConsoleIDPattern.extract("BG-ABCDEFGH-old", pattern: "BG-[A-Z0-9]{8}") == nil)
        #expect(
            ConsoleIDPattern.extract(
                "reference already used by EA-2026-000123",
                pattern: "reference already used by (EA-\\d{4}-\\d{6})") == "EA-2026-000123")
        #expect(
            ConsoleIDPattern.extract("reference already used by ", pattern: "reference already used by (.*)") == nil)
        #expect(ConsoleIDPattern.extract("", pattern: nil) == nil)
        #expect(ConsoleIDPattern.extract(" D-12 ", pattern: nil) == "D-12")
        #expect(ConsoleIDPattern.problem("(a)(b)") != nil)
        #expect(ConsoleIDPattern.problem("(?:a)(b)") == nil)
        #expect(ConsoleIDPattern.problem("[") == "not a valid regular expression")
    }

    @Test("the safety assertions cannot be left out")
    func safety() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(
            of: "reason: CONSOLE_EXPIRY_CONTROL_MISSING, phase: before_fill }",
            with: "reason: CONSOLE_EXPIRY_CONTROL_MISSING }")
        yaml = yaml.replacingOccurrences(
            of: "value: tenant.name, reason: CONSOLE_TENANT_MISMATCH",
            with: "value: tenant.name, reason: CONSOLE_UNEXPECTED_SCREEN")
        let found = issues(yaml)
        #expect(found.contains { $0.contains("expiration control is present") })
        #expect(found.contains { $0.contains("displayed tenant.name") })
    }

    @Test("flow, submit, confirmation and paths are checked")
    func structure() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(of: "flow: [login, tenant,", with: "flow: [login, lobby, tenant,")
        yaml = yaml.replacingOccurrences(of: "pattern: \"^BG-[A-Z0-9]{8}$\"", with: "pattern: \"^BG-[A-Z\"")
        yaml = yaml.replacingOccurrences(
            of: "open_path: \"/console/drafts/{draft_id}\"", with: "open_path: \"/console/drafts/{draft}\"")
        yaml = yaml.replacingOccurrences(
            of: "    external_reference: { attribute: data-external-reference }\n", with: "")
        let found = issues(yaml)
        #expect(found.contains("$.flow[1]: unknown screen lobby"))
        #expect(found.contains("$.confirmation.id.pattern: not a valid regular expression"))
        #expect(found.contains { $0.hasPrefix("$.draft.open_path: unknown placeholder {draft}") })
        #expect(found.contains("$.active_grants.columns: column external_reference is required"))
    }

    @Test("the submit screen must end the flow; timeouts are bounded")
    func submitAndTimeouts() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(
            of: "  screen: acknowledgement\n  button", with: "  screen: approvals\n  button")
        yaml = yaml.replacingOccurrences(of: "poll_ms: 100", with: "poll_ms: 0")
        let found = issues(yaml)
        #expect(found.contains("$.submit.screen: the submit screen must be the last screen of the flow"))
        #expect(found.contains("$.timeouts.poll_ms: must be within 10...5000 ms"))
        #expect(found.contains { $0.hasPrefix("$.flow[8]: screen acknowledgement has no next button") })
    }

    @Test("not YAML, or the wrong shape, is a syntax error with a path")
    func syntax() {
        #expect(throws: ConsoleMapError.self) { try ConsoleMap.load(yaml: "name: [unclosed") }
        do {
            _ = try ConsoleMap.load(yaml: "name: x\nstart_path: /\nscreens: 3\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .syntax)
            #expect(error.issues.first?.path == "$.screens")
        }
    }

    @Test("value sources read the request")
    func values() throws {
        let request = ConsoleTestRequests.request()
        let context = ConsoleValue.Context(request: request, username: "svc", password: Secret("pw-123456"))
        #expect(ConsoleValue(parsing: "external_reference")?.text(in: context) == "CASE-88121/tnt-4f9a2c")
        #expect(ConsoleValue(parsing: "approval_refs")?.text(in: context) == "APR-1, APR-2, APR-3")
        #expect(ConsoleValue(parsing: "scopes")?.list(in: context) == ["admins.restore", "users.reset-mfa"])
        #expect(ConsoleValue(parsing: "literal:true")?.text(in: context) == "true")
        #expect(ConsoleValue(parsing: "credentials.password")?.isSecret == true)
        #expect(ConsoleValue(parsing: "nope") == nil)
    }
}

enum ConsoleTestRequests {
    static func request(caseID: String = "CASE-88121", tenantID: String = "tnt-4f9a2c") -> RestorationRequest {
        RestorationRequest(
            requestID: "REQ-1", caseID: caseID, tenant: .init(id: tenantID, name: "Acme Corp"),
            incident: .init(id: "INC-5521"),
            requester: .init(adminID: "adm-7781", identityAssuranceRef: "IDV-9912"),
            privilege: .init(
                role: "tenant-admin", scopes: ["admins.restore", "users.reset-mfa"], durationMinutes: 120),
            approvals: [
                .init(role: "incident-command", approvalID: "APR-1", approverID: "u-ic-12"),
                .init(role: "security", approvalID: "APR-2", approverID: "u-sec-3"),
                .init(role: "customer-account-authority", approvalID: "APR-3", approverID: "c-ceo-1"),
            ],
            packet: .init(id: "PKT-77", sha256: "23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"),
            enqueuedAt: Date(), notAfter: Date().addingTimeInterval(3600))
    }
}

@Suite("Console map: sign-in ahead")
struct ConsoleMapSignInAheadTests {
    @Test("the reference map's sign-in takes only the credentials: it can be done ahead")
    func reference() throws {
        let map = try ConsoleMap.load(file: ConsoleMapTests.referenceURL)
        #expect(map.screen("login")?.fields.map(\.source) == [.username, .password])
        #expect(map.canSignInAhead)
    }

    @Test("a first screen that takes anything of a request is never done ahead")
    func requestValueOnFirstScreen() throws {
        let yaml = try ConsoleMapTests.referenceYAML().replacingOccurrences(
            of: "{ field: username, selector: \"#username\", value: credentials.username }",
            with: "{ field: username, selector: \"#username\", value: tenant.id }")
        #expect(yaml != (try ConsoleMapTests.referenceYAML()))
        #expect(!(try ConsoleMap.load(yaml: yaml)).canSignInAhead)
    }
}
