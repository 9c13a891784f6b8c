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
        yaml = yaml.replacingOccurrences(of: "value: incident.id }\n    buttons", with: "value: incident.number }\n    buttons")
        yaml = yaml.replacingOccurrences(of: "kind: checked_exactly", with: "kind: checked_maybe")
        yaml = yaml.replacingOccurrences(of: "reason: CONSOLE_ERROR", with: "reason: APPROVAL_REVOKED")
        let found = issues(yaml)
        #expect(found.contains { $0.hasPrefix("$.screens[3].fields[0].value: unknown value source incident.number") })
        #expect(found.contains { $0.hasPrefix("$.screens[5].assertions[0].kind: unknown kind checked_maybe") })
        #expect(found.contains("$.watch[1].reason: APPROVAL_REVOKED is not a console reason code (contract §6)"))
        // Removing the scope assertion also breaks the safety rule.
        #expect(found.contains { $0.hasPrefix("$.screens: the flow must assert checked_exactly with value scopes") })
    }

    @Test("the safety assertions cannot be left out")
    func safety() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(of: "reason: CONSOLE_EXPIRY_CONTROL_MISSING, phase: before_fill }", with: "reason: CONSOLE_EXPIRY_CONTROL_MISSING }")
        yaml = yaml.replacingOccurrences(of: "value: tenant.name, reason: CONSOLE_TENANT_MISMATCH", with: "value: tenant.name, reason: CONSOLE_UNEXPECTED_SCREEN")
        let found = issues(yaml)
        #expect(found.contains { $0.contains("expiration control is present") })
        #expect(found.contains { $0.contains("displayed tenant.name") })
    }

    @Test("flow, submit, confirmation and paths are checked")
    func structure() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(of: "flow: [login, tenant,", with: "flow: [login, lobby, tenant,")
        yaml = yaml.replacingOccurrences(of: "pattern: \"^BG-[A-Z0-9]{8}$\"", with: "pattern: \"^BG-[A-Z\"")
        yaml = yaml.replacingOccurrences(of: "open_path: \"/console/drafts/{draft_id}\"", with: "open_path: \"/console/drafts/{draft}\"")
        yaml = yaml.replacingOccurrences(of: "    external_reference: { attribute: data-external-reference }\n", with: "")
        let found = issues(yaml)
        #expect(found.contains("$.flow[1]: unknown screen lobby"))
        #expect(found.contains("$.confirmation.id.pattern: not a valid regular expression"))
        #expect(found.contains { $0.hasPrefix("$.draft.open_path: unknown placeholder {draft}") })
        #expect(found.contains("$.active_grants.columns: column external_reference is required"))
    }

    @Test("the submit screen must end the flow; timeouts are bounded")
    func submitAndTimeouts() throws {
        var yaml = try Self.referenceYAML()
        yaml = yaml.replacingOccurrences(of: "  screen: acknowledgement\n  button", with: "  screen: approvals\n  button")
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
            requestID: "REQ-1", caseID: caseID, tenant: .init(id: tenantID, name: "Acme Corp"), incident: .init(id: "INC-5521"),
            requester: .init(adminID: "adm-7781", identityAssuranceRef: "IDV-9912"),
            privilege: .init(role: "tenant-admin", scopes: ["admins.restore", "users.reset-mfa"], durationMinutes: 120),
            approvals: [
                .init(role: "incident-command", approvalID: "APR-1", approverID: "u-ic-12"),
                .init(role: "security", approvalID: "APR-2", approverID: "u-sec-3"),
                .init(role: "customer-account-authority", approvalID: "APR-3", approverID: "c-ceo-1"),
            ],
            packet: .init(id: "PKT-77", sha256: "23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"),
            enqueuedAt: Date(), notAfter: Date().addingTimeInterval(3600))
    }
}
