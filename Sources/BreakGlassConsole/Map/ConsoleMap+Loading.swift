import BreakGlassCore
public import Foundation
import Yams

extension ConsoleMap {
    /// Reads and validates a map file.
    public static func load(file url: URL) throws(ConsoleMapError) -> ConsoleMap {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path) }
        return try load(yaml: String(decoding: data, as: UTF8.self), file: url.path)
    }

    /// Parses and validates a map; every broken rule is reported with its path.
    public static func load(yaml: String, file: String? = nil) throws(ConsoleMapError) -> ConsoleMap {
        let map: ConsoleMap
        do {
            map = try YAMLDecoder().decode(ConsoleMap.self, from: yaml)
        } catch let error as DecodingError {
            let (path, rule) = describe(error)
            throw .syntax(path, rule, file: file)
        } catch {
            throw .syntax("$", "not valid YAML", file: file)
        }
        let issues = map.validate()
        guard issues.isEmpty else { throw .invalid(issues, file: file) }
        return map
    }

    static func describe(_ error: DecodingError) -> (String, String) {
        func path(_ keys: [any CodingKey]) -> String {
            var text = "$"
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += ".\(key.stringValue)" }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return (path(context.codingPath + [key]), "required key is missing")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "expected \(type)")
        case .valueNotFound(let type, let context):
            return (path(context.codingPath), "expected \(type), found nothing")
        case .dataCorrupted(let context):
            return (path(context.codingPath), "not valid YAML or not the expected shape")
        @unknown default:
            return ("$", "not a console map")
        }
    }

    /// Every rule the map breaks (empty when it is usable).
    public func validate() -> [ConsoleMapError.Issue] {
        var issues: [ConsoleMapError.Issue] = []
        func issue(_ path: String, _ rule: String) { issues.append(.init(path, rule)) }
        func selector(_ value: String?, _ path: String, required: Bool = true) {
            guard let value else {
                if required { issue(path, "a CSS selector is required") }
                return
            }
            if value.trimmingCharacters(in: .whitespaces).isEmpty { issue(path, "a selector must not be empty") }
            if value.contains("\n") { issue(path, "a selector is one line") }
        }
        func recognize(_ r: Recognize, _ path: String) {
            selector(r.selector, path + ".selector")
            selector(r.textSelector, path + ".text_selector", required: false)
            if let text = r.text, text.isEmpty { issue(path + ".text", "expected text must not be empty when given") }
        }
        func consoleReason(_ reason: String, _ path: String) {
            guard let code = ReasonCode(rawValue: reason) else {
                issue(path, "unknown reason code \(reason)")
                return
            }
            if code.category != .console { issue(path, "\(reason) is not a console reason code (contract §6)") }
        }
        func value(_ text: String, _ path: String) -> ConsoleValue? {
            guard let parsed = ConsoleValue(parsing: text) else {
                issue(
                    path,
                    "unknown value source \(text); use one of \(ConsoleValue.names.keys.sorted().joined(separator: ", ")) or literal:<text>"
                )
                return nil
            }
            return parsed
        }
        func pattern(_ text: String?, _ path: String) {
            guard let text else { return }
            if let problem = ConsoleIDPattern.problem(text) { issue(path, problem) }
        }
        func placeholders(_ text: String, allowed: Set<String>, _ path: String) {
            var rest = Substring(text)
            while let open = rest.firstIndex(of: "{") {
                guard let close = rest[open...].firstIndex(of: "}") else {
                    issue(path, "unclosed { in path")
                    return
                }
                let name = String(rest[rest.index(after: open)..<close])
                if !allowed.contains(name) {
                    issue(path, "unknown placeholder {\(name)}; allowed: \(allowed.sorted().joined(separator: ", "))")
                }
                rest = rest[rest.index(after: close)...]
            }
            if !text.hasPrefix("/") { issue(path, "a path starts with /") }
        }
        func fields(_ list: [Field], _ path: String) {
            var names: Set<String> = []
            for (i, field) in list.enumerated() {
                let p = "\(path)[\(i)]"
                if field.field.isEmpty { issue(p + ".field", "the logical field name must not be empty") }
                if !names.insert(field.field).inserted {
                    issue(p + ".field", "duplicate field \(field.field) on this screen")
                }
                selector(field.selector, p + ".selector")
                let kind = field.kind.map { ConsoleFieldKind(rawValue: $0) } ?? .text
                if kind == nil {
                    issue(
                        p + ".kind",
                        "unknown kind \(field.kind ?? ""); use \(ConsoleFieldKind.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                if let source = value(field.value, p + ".value"), kind == .checkboxes, !source.isList {
                    issue(p + ".value", "a checkboxes field needs a list value (scopes, approval_refs)")
                }
                if field.valueAttribute != nil, kind != .checkboxes {
                    issue(p + ".value_attribute", "only checkboxes fields read a value attribute")
                }
            }
        }
        func assertions(_ list: [Assertion], _ path: String) {
            for (i, assertion) in list.enumerated() {
                let p = "\(path)[\(i)]"
                selector(assertion.selector, p + ".selector")
                consoleReason(assertion.reason, p + ".reason")
                guard let kind = ConsoleAssertionKind(rawValue: assertion.kind) else {
                    issue(
                        p + ".kind",
                        "unknown kind \(assertion.kind); use \(ConsoleAssertionKind.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                    continue
                }
                if let phase = assertion.phase, ConsoleAssertionPhase(rawValue: phase) == nil {
                    issue(p + ".phase", "phase is before_fill or after_fill")
                }
                if kind == .textSetEquals {
                    if (assertion.separator ?? "").isEmpty {
                        issue(p + ".separator", "text_set_equals needs the separator of its items")
                    }
                } else if assertion.separator != nil {
                    issue(p + ".separator", "only text_set_equals splits a text at a separator")
                }
                if kind.needsValue {
                    if let text = assertion.value {
                        if let source = value(text, p + ".value"), kind.needsList, !source.isList {
                            issue(
                                p + ".value", "\(kind.rawValue) compares against a list value (scopes, approval_refs)")
                        } else if let source = ConsoleValue(parsing: text), kind == .countEquals, !source.isList {
                            if case .literal(let number) = source, let count = Int(number), count >= 0 {
                            } else {
                                issue(
                                    p + ".value",
                                    "count_equals counts a list value (scopes, approval_refs) or a literal:<n>")
                            }
                        }
                    } else {
                        issue(p + ".value", "\(kind.rawValue) needs a value")
                    }
                } else if assertion.value != nil {
                    issue(p + ".value", "\(kind.rawValue) takes no value")
                }
            }
        }
        func extract(_ e: Extract, _ path: String) {
            selector(e.selector, path + ".selector")
            pattern(e.pattern, path + ".pattern")
            if let expected = e.expected, expected.isEmpty {
                issue(path + ".expected", "list at least one accepted value")
            }
        }

        if name.trimmingCharacters(in: .whitespaces).isEmpty { issue("$.name", "the map needs a name") }
        placeholders(startPath, allowed: [], "$.start_path")
        for (key, ms, range) in [
            ("screen_ms", timeouts.screenMs, 100...600_000),
            ("confirmation_ms", timeouts.confirmationMs, 100...600_000),
            ("poll_ms", timeouts.pollMs, 10...5_000),
        ] where !range.contains(ms) {
            issue("$.timeouts.\(key)", "must be within \(range.lowerBound)...\(range.upperBound) ms")
        }
        if let marker = screenMarker {
            selector(marker.selector, "$.screen_marker.selector")
            if marker.attribute?.isEmpty == true {
                issue("$.screen_marker.attribute", "an attribute name must not be empty when given")
            }
        }
        var watchNames: Set<String> = []
        for (i, watch) in watch.enumerated() {
            if !watchNames.insert(watch.name).inserted { issue("$.watch[\(i)].name", "duplicate watch \(watch.name)") }
            selector(watch.selector, "$.watch[\(i)].selector")
            consoleReason(watch.reason, "$.watch[\(i)].reason")
            for (j, name) in (watch.except ?? []).enumerated() where self.screen(name) == nil {
                issue("$.watch[\(i)].except[\(j)]", "unknown screen \(name)")
            }
        }
        for (i, mask) in mask.enumerated() { selector(mask, "$.mask[\(i)]") }

        var screenNames: Set<String> = []
        for (i, screen) in screens.enumerated() {
            let p = "$.screens[\(i)]"
            if screen.name.isEmpty { issue(p + ".name", "a screen needs a name") }
            if screen.marker != nil, screenMarker == nil {
                issue(p + ".marker", "a screen marker value needs a screen_marker")
            }
            if screen.marker?.isEmpty == true { issue(p + ".marker", "must not be empty when given") }
            if !screenNames.insert(screen.name).inserted { issue(p + ".name", "duplicate screen \(screen.name)") }
            recognize(screen.recognize, p + ".recognize")
            fields(screen.fields, p + ".fields")
            assertions(screen.assertions, p + ".assertions")
            for (j, mask) in screen.mask.enumerated() { selector(mask, "\(p).mask[\(j)]") }
            selector(screen.buttons.next, p + ".buttons.next", required: false)
            selector(screen.buttons.saveDraft, p + ".buttons.save_draft", required: false)
        }
        if flow.isEmpty { issue("$.flow", "list the screens of a grant in order") }
        for (i, name) in flow.enumerated() {
            guard let screen = self.screen(name) else {
                issue("$.flow[\(i)]", "unknown screen \(name)")
                continue
            }
            if name != submit.screen, screen.buttons.next == nil {
                issue("$.flow[\(i)]", "screen \(name) has no next button, so the flow cannot leave it")
            }
        }
        if Set(flow).count != flow.count { issue("$.flow", "a screen appears twice in the flow") }
        if flow.last != submit.screen {
            issue("$.submit.screen", "the submit screen must be the last screen of the flow")
        }
        selector(submit.button, "$.submit.button")

        recognize(confirmation.recognize, "$.confirmation.recognize")
        extract(confirmation.id, "$.confirmation.id")
        if confirmation.id.pattern == nil { issue("$.confirmation.id.pattern", "the confirmation id needs a pattern") }
        extract(confirmation.status, "$.confirmation.status")
        if confirmation.status.expected == nil {
            issue("$.confirmation.status.expected", "list the statuses that mean granted")
        }
        if let e = confirmation.expiresAt { extract(e, "$.confirmation.expires_at") }
        if confirmation.duplicate == nil {
            // Target-side uniqueness is the last line against a process frozen between its last check and the click
            // (issue 15.2): a map must say how the console refuses a second grant for the same external reference.
            issue(
                "$.confirmation.duplicate",
                "required: the page the console shows when a grant already exists for the external reference")
        }
        if let d = confirmation.duplicate {
            recognize(d.recognize, "$.confirmation.duplicate.recognize")
            selector(d.idSelector, "$.confirmation.duplicate.id_selector")
            pattern(d.idPattern, "$.confirmation.duplicate.id_pattern")
        }
        if let draft {
            recognize(draft.recognize, "$.draft.recognize")
            selector(draft.idSelector, "$.draft.id_selector")
            pattern(draft.idPattern, "$.draft.id_pattern")
            if let open = draft.openPath { placeholders(open, allowed: ["draft_id"], "$.draft.open_path") }
        }
        let pathValues = Set(ConsoleValue.names.keys).subtracting(["credentials.password", "credentials.username"])
        placeholders(activeGrants.path, allowed: pathValues, "$.active_grants.path")
        recognize(activeGrants.recognize, "$.active_grants.recognize")
        selector(activeGrants.row, "$.active_grants.row")
        for required in ["confirmation_id", "external_reference"] where activeGrants.columns[required] == nil {
            issue("$.active_grants.columns", "column \(required) is required")
        }
        for (name, column) in activeGrants.columns.sorted(by: { $0.key < $1.key }) {
            if (column.attribute == nil) == (column.selector == nil) {
                issue("$.active_grants.columns.\(name)", "give exactly one of attribute or selector")
            }
            selector(column.selector, "$.active_grants.columns.\(name).selector", required: false)
            pattern(column.pattern, "$.active_grants.columns.\(name).pattern")
        }
        if let revoke {
            placeholders(revoke.path, allowed: pathValues, "$.revoke.path")
            recognize(revoke.recognize, "$.revoke.recognize")
            assertions(revoke.assertions, "$.revoke.assertions")
            fields(revoke.fields, "$.revoke.fields")
            selector(revoke.button, "$.revoke.button")
            recognize(revoke.result.recognize, "$.revoke.result.recognize")
            extract(revoke.result.status, "$.revoke.result.status")
        }

        // The safety assertions the issue requires of every console: they cannot be forgotten in a new map.
        let flowAssertions = flow.compactMap { self.screen($0) }.flatMap(\.assertions)
        let kinds = flowAssertions.compactMap { a in ConsoleAssertionKind(rawValue: a.kind).map { (a, $0) } }
        if !kinds.contains(where: {
            $0.1 == .checkedExactly && $0.0.value == "scopes" && $0.0.reason == ReasonCode.consoleScopeDrift.rawValue
        }) {
            issue(
                "$.screens",
                "the flow must assert checked_exactly with value scopes and reason CONSOLE_SCOPE_DRIFT (exactly the approved scopes, nothing broader)"
            )
        }
        // Before the worker touches a selection, nothing outside the approved set may be selected (issue 19.1): an
        // after-fill check alone passes once the worker has unticked what the console pre-ticked, and a console that
        // pre-selects broader privileges than approved is a reason to stop, not to correct. Checked per screen, on the
        // field's own selector.
        for name in flow {
            guard let screen = self.screen(name) else { continue }
            for field in screen.fields where field.fieldKind == .checkboxes {
                let guarded = screen.assertions.contains { a in
                    let kind = ConsoleAssertionKind(rawValue: a.kind)
                    return (kind == .checkedSubsetOf || kind == .checkedExactly) && a.assertionPhase == .beforeFill
                        && a.selector == field.selector && a.value == field.value
                        && a.reason == ReasonCode.consoleScopeDrift.rawValue
                }
                if !guarded {
                    issue(
                        "$.screens[\(screens.firstIndex { $0.name == name } ?? 0)]",
                        "screen \(name) ticks \(field.field) (\(field.selector)): it must first assert, before_fill, "
                            + "checked_subset_of \(field.value) on that selector with reason CONSOLE_SCOPE_DRIFT "
                            + "(nothing pre-selected outside the approved set)")
                }
            }
        }
        if !kinds.contains(where: {
            $0.1 == .present && $0.0.reason == ReasonCode.consoleExpiryControlMissing.rawValue
                && $0.0.assertionPhase == .beforeFill
        }) {
            issue(
                "$.screens",
                "the flow must assert (before_fill) that the expiration control is present, reason CONSOLE_EXPIRY_CONTROL_MISSING"
            )
        }
        for needed in ["tenant.id", "tenant.name"]
        where !kinds.contains(where: {
            ($0.1 == .textEquals || $0.1 == .textContains) && $0.0.value == needed
                && $0.0.reason == ReasonCode.consoleTenantMismatch.rawValue
        }) {
            issue("$.screens", "the flow must assert the displayed \(needed) with reason CONSOLE_TENANT_MISMATCH")
        }
        if !kinds.contains(where: { ($0.1 == .textEquals || $0.1 == .textContains) && $0.0.value == "incident.id" }) {
            issue("$.screens", "the flow must assert the displayed incident.id")
        }
        return issues
    }
}
