public import BreakGlassCore
public import Foundation

/// One request's view of the console through a browser session: the map's operations (recognise, watch, fill,
/// assert, masked screenshot, press) over `WebDriverSession`. Every failure is a `ConsoleFailure` with the
/// contract's console reason code.
public struct ConsoleSession: Sendable {
    public let browser: WebDriverSession
    public let map: ConsoleMap
    public let baseURL: String
    public let context: ConsoleValue.Context
    let masker: Masker

    public init(
        browser: WebDriverSession, map: ConsoleMap, baseURL: String, context: ConsoleValue.Context, masker: Masker
    ) {
        self.browser = browser
        self.map = map
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.context = context
        self.masker = masker
    }

    /// Runs a WebDriver call; its error becomes a `ConsoleFailure` naming `action`.
    func wd<T>(_ action: String, screen: String?, _ body: () async throws -> T) async throws(ConsoleFailure) -> T {
        do {
            let value = try await body()
            try requireNoDialog(action, screen: screen)
            return value
        } catch let error as WebDriverError where error.code == .unexpectedAlertOpen {
            try requireNoDialog(action, screen: screen)
            throw ConsoleFailure(.consoleUnexpectedScreen, "\(action): a JavaScript dialog opened", screen: screen)
        } catch let error as WebDriverError {
            throw error.failure(action, screen: screen)
        } catch let error as ConsoleFailure {
            throw error
        } catch is CancellationError {
            throw ConsoleFailure(.consoleError, "\(action): cancelled", screen: screen, sessionBroken: true)
        } catch {
            throw ConsoleFailure(.consoleError, "\(action): unexpected failure", screen: screen, sessionBroken: true)
        }
    }

    /// Halts (`CONSOLE_UNEXPECTED_SCREEN`, the dialog's text masked) when the browser met a JavaScript dialog since
    /// the last check (issue 16.8: dialogs were dismissed silently and the flow went on).
    func requireNoDialog(_ action: String, screen: String?) throws(ConsoleFailure) {
        guard let text = browser.dialogs.take().first else { return }
        throw ConsoleFailure(
            .consoleUnexpectedScreen, "\(action): a JavaScript dialog opened: \(masker.mask(text))", screen: screen)
    }

    // MARK: - Navigation

    /// `path` with `{placeholders}` filled from the context (URL-encoded) and `extra` values.
    public func url(_ path: String, extra: [String: String] = [:]) -> String {
        var result = ""
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            result += rest[..<open]
            let name = String(rest[rest.index(after: open)..<close])
            let value = extra[name] ?? ConsoleValue(parsing: name)?.text(in: context) ?? ""
            result +=
                value.addingPercentEncoding(
                    withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return baseURL + result + rest
    }

    public func navigate(_ path: String, extra: [String: String] = [:], screen: String?) async throws(ConsoleFailure) {
        let target = url(path, extra: extra)
        try await wd("navigate", screen: screen) { try await browser.navigate(to: target) }
    }

    /// Refuses to go on (`CONSOLE_UNEXPECTED_SCREEN`) unless the page's origin is the configured console's
    /// (issue 16.2): a console URL that redirects elsewhere must never receive the console password, any entered
    /// value, or the final click.
    public func requireConsoleOrigin(_ action: String, screen: String?) async throws(ConsoleFailure) {
        let current = try await wd("read the page URL", screen: screen) { try await browser.currentURL() }
        guard let expected = Self.origin(of: baseURL), Self.origin(of: current) == expected else {
            throw ConsoleFailure.unexpectedScreen(
                "\(action): the page is not on the configured console origin (\(Self.origin(of: current) ?? "no origin"))",
                screen: screen)
        }
    }

    /// `scheme://host:port`, lower-cased, with the scheme's default port made explicit; nil for a URL without a host.
    public static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return "\(scheme)://\(host):\(port)"
    }

    /// The current URL without its query string and fragment (they may carry tokens), masked.
    public func currentURLForRecord() async -> String? {
        guard let url = try? await browser.currentURL() else { return nil }
        return masker.maskURL(url)
    }

    /// The page's screen name by the map's marker (what the console calls the page: an attribute, or a heading's
    /// text), for reports.
    public func currentMarker() async -> String? {
        guard let marker = map.screenMarker,
            let element = try? await browser.findElementIfPresent(css: marker.selector)
        else { return nil }
        let value: String?
        if let attribute = marker.attribute {
            value = try? await browser.attribute(attribute, of: element)
        } else {
            value = (try? await browser.text(of: element))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let value, !value.isEmpty else { return nil }
        return masker.mask(value)
    }

    /// "screen X (marker "…")" when a screen of the map carries that marker, else "an unknown page (marker "…")".
    func describeMarker(_ value: String) -> String {
        if let known = map.screen(marked: value) { return "screen \(known.name) (\"\(value)\")" }
        return "a page this map does not know (\"\(value)\")"
    }

    // MARK: - Recognition

    /// What one look at the page found, from one script call: for each recognition rule asked about, whether its
    /// selector matched and the element whose text the rule checks (`nil` when the rule's text selector matched
    /// nothing); the indexes (into `map.watch`) of the watch rules whose selector matched.
    struct PageLook: Sendable {
        var rules: [(found: Bool, holder: WebDriverElement?)]
        var watches: [Int]
    }

    /// One script for a whole poll (issue 21: a poll was one WebDriver command per selector, up to six, each a
    /// round trip through chromedriver into the page). The queries are what `findElements(css:)` does
    /// (`querySelectorAll` on the document, document order); an invalid selector fails as `invalid selector`, as
    /// the WebDriver command would. Texts are still read with WebDriver's own command (`recognised(_:_:)`): the
    /// rendered text that command returns is what a rule is about.
    static let lookScript = """
        var rules = arguments[0], watches = arguments[1], out = { rules: [], watches: [], invalid: false };
        function all(selector) {
          try { return document.querySelectorAll(selector); } catch (e) { out.invalid = true; return []; }
        }
        for (var i = 0; i < rules.length; i++) {
          var found = all(rules[i][0]), holder = null;
          if (found.length > 0) {
            if (rules[i][1] === null) { holder = found[0]; } else { var h = all(rules[i][1]); holder = h.length ? h[0] : null; }
          }
          out.rules.push([found.length > 0, holder]);
        }
        for (var j = 0; j < watches.length; j++) { if (all(watches[j]).length > 0) { out.watches.push(j); } }
        return out;
        """

    /// Looks at the page once for `rules` (and the map's watch rules when `watching`).
    func look(_ rules: [ConsoleMap.Recognize], watching: Bool) async throws -> PageLook {
        let arguments: [WebDriverJSON] = [
            .array(rules.map { .array([.string($0.selector), $0.textSelector.map(WebDriverJSON.string) ?? .null]) }),
            .array(watching ? map.watch.map { .string($0.selector) } : []),
        ]
        let result = try await browser.executeScript(Self.lookScript, arguments: arguments)
        if result["invalid"]?.bool == true {
            throw WebDriverError(code: .invalidSelector, command: "POST /session/{id}/execute/sync")
        }
        guard let found = result["rules"]?.array, found.count == rules.count, let watches = result["watches"]?.array
        else {
            throw WebDriverError(code: .invalidResponse, command: "POST /session/{id}/execute/sync")
        }
        return PageLook(
            rules: found.map { pair in
                (
                    pair.array?.first?.bool ?? false,
                    pair.array.flatMap { $0.count > 1 ? WebDriverElement(json: $0[1]) : nil }
                )
            },
            watches: watches.compactMap { $0.double.map { Int($0) } }.filter { map.watch.indices.contains($0) })
    }

    /// Whether rule `index` of `look` recognises the page: its selector matched and, when the rule names a text,
    /// the holder's rendered text (WebDriver's Get Element Text) contains it.
    func recognised(_ rule: ConsoleMap.Recognize, _ index: Int, in look: PageLook) async throws -> Bool {
        let (found, holder) = look.rules[index]
        guard found else { return false }
        guard let text = rule.text else { return true }
        guard let holder else { return false }
        return try await browser.text(of: holder).contains(text)
    }

    /// The first watch rule (in map order) that `look` saw, ignoring those that expect their selector on `screen`.
    func firedWatch(in look: PageLook, expecting screen: String?) -> ConsoleMap.Watch? {
        for index in look.watches.sorted() {
            let watch = map.watch[index]
            if let screen, (watch.except ?? []).contains(screen) { continue }
            return watch
        }
        return nil
    }

    func watchFailure(_ watch: ConsoleMap.Watch, screen: String?) -> ConsoleFailure {
        ConsoleFailure(
            watch.reasonCode, "\(watch.name): \(watch.note ?? "watched banner or page shown")", screen: screen)
    }

    /// Waits (bounded by the map's screen timeout) until `recognize` matches. A watch rule that fires first halts
    /// with its reason; at the deadline, a page that is some other screen is `CONSOLE_UNEXPECTED_SCREEN`, no page
    /// at all `CONSOLE_TIMEOUT`.
    public func await(
        _ recognize: ConsoleMap.Recognize, screen: String, timeoutMs: Int? = nil
    ) async throws(ConsoleFailure) {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(timeoutMs ?? map.timeouts.screenMs))
        while true {
            let (recognised, fired) = try await wd("recognise", screen: screen) {
                let page = try await look([recognize], watching: true)
                let recognised = try await self.recognised(recognize, 0, in: page)
                return (recognised, firedWatch(in: page, expecting: recognised ? screen : nil))
            }
            if let watch = fired { throw watchFailure(watch, screen: screen) }
            if recognised { return }
            if clock.now >= deadline {
                if let marker = await currentMarker() {
                    throw ConsoleFailure.unexpectedScreen(
                        "expected screen \(screen), the console shows \(describeMarker(marker))", screen: screen)
                }
                throw ConsoleFailure.timeout(
                    "screen \(screen) not recognised within \(timeoutMs ?? map.timeouts.screenMs) ms", screen: screen)
            }
            try? await Task.sleep(for: .milliseconds(map.timeouts.pollMs))
        }
    }

    // MARK: - Fill

    /// Fills one field; returns the masked value entered (for the takeover record and evidence).
    public func fill(_ field: ConsoleMap.Field, screen: String) async throws(ConsoleFailure) -> String {
        let action = "fill \(field.field) (\(field.selector))"
        try await requireConsoleOrigin(action, screen: screen)
        switch field.fieldKind {
        case .text:
            let value = field.source.text(in: context)
            try await wd(action, screen: screen) {
                // One script finds the field and says whether it is empty: WebDriver's Element Clear is skipped on
                // an empty field (it costs a command, ~20 ms, for nothing). A pre-filled field is cleared first.
                let found = try await browser.executeScript(Self.fieldScript, arguments: [.string(field.selector)])
                guard let pair = found.array, pair.count == 2, let element = WebDriverElement(json: pair[0]) else {
                    throw WebDriverError(code: .noSuchElement, command: "POST /session/{id}/execute/sync")
                }
                if pair[1].bool != true { try await browser.clear(element) }
                try await browser.sendKeys(value, to: element)
            }
            return field.isSecret ? Masker.replacement : masker.mask(value)
        case .checkbox:
            let wanted = ["true", "yes", "1", "on"].contains(field.source.text(in: context).lowercased())
            try await wd(action, screen: screen) {
                let element = try await browser.findElement(css: field.selector)
                if try await browser.isSelected(element) != wanted { try await browser.click(element) }
            }
            return wanted ? "checked" : "unchecked"
        case .checkboxes:
            let wanted = Set(field.source.list(in: context))
            let attribute = field.valueAttribute ?? "value"
            try await wd(action, screen: screen) {
                let boxes = try await browser.findElements(css: field.selector)
                guard !boxes.isEmpty else {
                    throw ConsoleFailure.unexpectedScreen(
                        "\(field.field): no element matches \(field.selector)", screen: screen)
                }
                for box in boxes {
                    let value = try await browser.attribute(attribute, of: box) ?? ""
                    if try await browser.isSelected(box) != wanted.contains(value) { try await browser.click(box) }
                }
            }
            return masker.mask(wanted.sorted().joined(separator: ", "))
        }
    }

    // MARK: - Assertions

    /// Checks `assertions` in order against one reading of the page (one script for all of them, issue 21: it was
    /// one WebDriver command per assertion and per matched element); the first that fails throws, carrying its
    /// reason code and what was seen (masked).
    public func checkAll(_ assertions: [ConsoleMap.Assertion], screen: String) async throws(ConsoleFailure) {
        guard !assertions.isEmpty else { return }
        let what = assertions.count == 1 ? Self.label(assertions[0]) : "\(assertions.count) assertions"
        let reading = try await wd("assert \(what)", screen: screen) { try await read(assertions) }
        if let invalid = reading.invalidSelector {
            // Named as before the one-script read: the assertion whose selector the browser refused.
            throw WebDriverError(code: .invalidSelector, command: "POST /session/{id}/execute/sync")
                .failure("assert \(Self.label(assertions[invalid]))", screen: screen)
        }
        for (assertion, elements) in zip(assertions, reading.found) {
            try Self.evaluate(assertion, elements, context: context, masker: masker, screen: screen)
        }
    }

    /// One element an assertion's selector matched, as the assertions script read it.
    struct Seen: Sendable, Equatable {
        /// Its rendered text (`innerText`; an option's `text`, a text area's content), no-break spaces as spaces,
        /// empty when it (an option: its list) is not shown: what WebDriver's Get Element Text gives
        /// (`ConsoleAssertionReadTests` compares the two in Chromium).
        var text: String
        /// Its `value` property when that is a string.
        var value: String?
        /// Whether it is a checked checkbox or radio button or a selected option (WebDriver's Is Element Selected).
        var selected: Bool
        /// The attribute the assertion reads (`attribute`, or `value` for the checked kinds), when it has one.
        var attribute: String?
    }

    static let assertionsScript = """
        var specs = arguments[0], out = { found: [], invalid: -1 };
        for (var i = 0; i < specs.length; i++) {
          var els = [];
          try { els = document.querySelectorAll(specs[i][0]); } catch (e) { if (out.invalid < 0) { out.invalid = i; } }
          var rows = [];
          for (var j = 0; j < els.length; j++) {
            var e = els[j];
            var shown = typeof e.checkVisibility !== 'function'
              || e.checkVisibility({ opacityProperty: true, visibilityProperty: true });
            var holder = e.tagName === 'OPTION' && e.closest('select') ? e.closest('select') : e;
            if (holder !== e) {
              shown = typeof holder.checkVisibility !== 'function'
                || holder.checkVisibility({ opacityProperty: true, visibilityProperty: true });
            }
            var raw = e.tagName === 'OPTION' ? e.text : (e.tagName === 'TEXTAREA' ? e.textContent : e.innerText);
            var text = shown && typeof raw === 'string' ? raw.replace(/\\u00a0/g, ' ') : '';
            var selected = e.tagName === 'OPTION' ? e.selected === true
              : (e.tagName === 'INPUT' && (e.type === 'checkbox' || e.type === 'radio') ? e.checked === true : false);
            rows.push([text, typeof e.value === 'string' ? e.value : null, selected,
              specs[i][1] === null ? null : e.getAttribute(specs[i][1])]);
          }
          out.found.push(rows);
        }
        return out;
        """

    /// The attribute an assertion reads from each element, if any.
    static func attributeRead(by assertion: ConsoleMap.Assertion) -> String? {
        switch assertion.assertionKind {
        case .checkedExactly, .checkedSubsetOf: assertion.attribute ?? "value"
        case .listEquals: assertion.attribute
        default: nil
        }
    }

    static func label(_ assertion: ConsoleMap.Assertion) -> String { "\(assertion.kind) \(assertion.selector)" }

    /// What the assertions script read: per assertion, the elements its selector matched; the index of the first
    /// assertion whose selector the browser refused, if any.
    func read(_ assertions: [ConsoleMap.Assertion]) async throws -> (found: [[Seen]], invalidSelector: Int?) {
        let specs: [WebDriverJSON] = assertions.map {
            .array([.string($0.selector), Self.attributeRead(by: $0).map(WebDriverJSON.string) ?? .null])
        }
        let result = try await browser.executeScript(Self.assertionsScript, arguments: [.array(specs)])
        let malformed = WebDriverError(code: .invalidResponse, command: "POST /session/{id}/execute/sync")
        if let invalid = result["invalid"]?.int, assertions.indices.contains(invalid) { return ([], invalid) }
        guard let found = result["found"]?.array, found.count == assertions.count else { throw malformed }
        return (
            try found.map { rows in
                guard let rows = rows.array else { throw malformed }
                return try rows.map { row in
                    guard let cells = row.array, cells.count == 4 else { throw malformed }
                    return Seen(
                        text: cells[0].string ?? "", value: cells[1].string, selected: cells[2].bool ?? false,
                        attribute: cells[3].string)
                }
            }, nil
        )
    }

    /// Whether `elements` (what `assertion`'s selector matched) satisfy it; a failure carries the assertion's reason
    /// code and what was seen, masked.
    static func evaluate(
        _ assertion: ConsoleMap.Assertion, _ elements: [Seen], context: ConsoleValue.Context, masker: Masker,
        screen: String
    ) throws(ConsoleFailure) {
        let label = label(assertion)
        func fail(_ seen: String) -> ConsoleFailure {
            ConsoleFailure(
                assertion.reasonCode,
                "assertion \(label) failed: \(masker.mask(seen))"
                    + (assertion.note.map { " (\($0))" } ?? ""), screen: screen)
        }
        let expectedText = assertion.source?.text(in: context) ?? ""
        let expectedList = Set(assertion.source?.list(in: context) ?? [])
        switch assertion.assertionKind {
        case .present:
            if elements.isEmpty { throw fail("no element matches") }
        case .absent:
            if !elements.isEmpty { throw fail("\(elements.count) element(s) match") }
        case .textEquals, .textContains, .valueEquals:
            // Every match must satisfy it (issue 16.8): a second element with the same selector (a stale row, a
            // hidden copy) showing another value is a console we do not understand, not a pass.
            guard !elements.isEmpty else { throw fail("no element matches") }
            for (index, element) in elements.enumerated() {
                let seen = assertion.assertionKind == .valueEquals ? (element.value ?? "") : element.text
                let trimmed = seen.trimmingCharacters(in: .whitespacesAndNewlines)
                let ok =
                    assertion.assertionKind == .textContains ? trimmed.contains(expectedText) : trimmed == expectedText
                if !ok {
                    let which = elements.count > 1 ? " (match \(index + 1) of \(elements.count))" : ""
                    throw fail("shows \"\(trimmed)\"\(which), expected \"\(expectedText)\"")
                }
            }
        case .checkedExactly, .checkedSubsetOf:
            guard !elements.isEmpty else { throw fail("no element matches") }
            let checked = Set(elements.filter(\.selected).map { $0.attribute ?? "" })
            let broader = checked.subtracting(expectedList).sorted()
            let missing = assertion.assertionKind == .checkedExactly ? expectedList.subtracting(checked).sorted() : []
            if !broader.isEmpty || !missing.isEmpty {
                // The takeover record names what the console had selected and what was approved (issue 19.1).
                let before = assertion.assertionPhase == .beforeFill ? "pre-selected" : "checked"
                throw fail(
                    "\(before) [\(checked.sorted().joined(separator: ", "))]"
                        + (broader.isEmpty ? "" : "; not approved: \(broader.joined(separator: ", "))")
                        + (missing.isEmpty ? "" : "; missing: \(missing.joined(separator: ", "))")
                        + "; approved [\(expectedList.sorted().joined(separator: ", "))]")
            }
        case .textSetEquals:
            guard !elements.isEmpty else { throw fail("no element matches") }
            let separator = assertion.separator ?? ","
            let wanted: Set<String> =
                assertion.source?.isList == true
                ? expectedList : Set(Self.items(expectedText, separator: separator))
            for (index, element) in elements.enumerated() {
                let listed = Self.items(element.text, separator: separator)
                let items = Set(listed)
                if items != wanted || listed.count != items.count {
                    let which = elements.count > 1 ? " (match \(index + 1) of \(elements.count))" : ""
                    throw fail(
                        "lists [\(items.sorted().joined(separator: ", "))]\(which)"
                            + (listed.count != items.count ? " with an item repeated" : "")
                            + ", expected [\(wanted.sorted().joined(separator: ", "))]")
                }
            }
        case .countEquals:
            let expected =
                assertion.source.map { $0.isList ? $0.list(in: context).count : Int(expectedText) ?? -1 } ?? -1
            if elements.count != expected {
                throw fail("\(elements.count) element(s) match, expected \(expected)")
            }
        case .listEquals:
            let values = elements.map {
                assertion.attribute != nil
                    ? ($0.attribute ?? "") : $0.text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if Set(values) != expectedList || values.count != expectedList.count {
                throw fail(
                    "lists [\(values.joined(separator: ", "))], expected [\(expectedList.sorted().joined(separator: ", "))]"
                )
            }
        }
    }

    /// The items of a delimited text, in order: split at `separator`, trimmed, empty ones dropped.
    static func items(_ text: String, separator: String) -> [String] {
        text.components(separatedBy: separator).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter {
            !$0.isEmpty
        }
    }

    // MARK: - Reading, pressing, screenshots

    /// Trimmed text of the first element matching `selector`, or `nil` when none.
    public func text(_ selector: String, screen: String?) async throws(ConsoleFailure) -> String? {
        try await wd("read \(selector)", screen: screen) {
            guard let element = try await browser.findElementIfPresent(css: selector) else { return nil }
            return try await browser.text(of: element).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Clicks the element matching `selector`, then waits (bounded by `navigationTimeoutMs`, default the map's
    /// screen timeout) until the page it was on has been replaced, so the next recognition never sees the old page.
    /// A click that does not load a new document is not an error here: the recognition that follows decides.
    /// `originChecked`: the caller checked the page's origin just before (the final click: no extra round trip
    /// between `submitting` and the click).
    public func press(
        _ selector: String, what: String, screen: String?, navigationTimeoutMs: Int? = nil,
        originChecked: Bool = false
    ) async throws(ConsoleFailure) {
        if !originChecked { try await requireConsoleOrigin("press \(what)", screen: screen) }
        let clock = ContinuousClock()
        let bound = Duration.milliseconds(navigationTimeoutMs ?? map.timeouts.screenMs)
        let pressed = clock.now
        do {
            try await wd("press \(what) (\(selector))", screen: screen) {
                // One script: the screenshot's mask boxes removed, the page marked (to see it replaced), the button
                // found.
                let found = try await browser.executeScript(Self.pressScript, arguments: [.string(selector)])
                guard let element = WebDriverElement(json: found) else {
                    throw WebDriverError(code: .noSuchElement, command: "POST /session/{id}/execute/sync")
                }
                try await browser.click(element)
            }
        } catch {
            throw error.late(clock.now - pressed, bound: bound)
        }
        let deadline = clock.now.advanced(by: bound)
        while clock.now < deadline {
            let old = try? await browser.executeScript("return window.__breakglassPage === true;")
            if old?.bool == false { return }
            try? await Task.sleep(for: .milliseconds(map.timeouts.pollMs))
        }
    }

    static let maskScript = """
        var selectors = arguments[0], count = 0;
        for (var i = 0; i < selectors.length; i++) {
          var nodes;
          try { nodes = document.querySelectorAll(selectors[i]); } catch (e) { continue; }
          for (var j = 0; j < nodes.length; j++) {
            var r = nodes[j].getBoundingClientRect();
            if (r.width === 0 && r.height === 0) { continue; }
            var d = document.createElement('div');
            d.setAttribute('data-breakglass-mask', '1');
            d.style.cssText = 'position:fixed;left:' + (r.left - 2) + 'px;top:' + (r.top - 2) + 'px;width:' + (r.width + 4) +
              'px;height:' + (r.height + 4) + 'px;background:#000;z-index:2147483647;pointer-events:none';
            (document.body || document.documentElement).appendChild(d);
            count++;
          }
        }
        return count;
        """

    /// `[element, isEmpty]` for the first element matching `arguments[0]`, `null` when none (`no such element`).
    static let fieldScript = """
        var e = document.querySelector(arguments[0]);
        return e ? [e, typeof e.value === 'string' && e.value === ''] : null;
        """

    /// Removes the mask boxes a screenshot left, marks the page (see `press`), returns the element to click.
    static let pressScript = """
        var boxes = document.querySelectorAll('[data-breakglass-mask]');
        for (var i = 0; i < boxes.length; i++) { boxes[i].remove(); }
        window.__breakglassPage = true;
        return document.querySelector(arguments[0]);
        """

    static let unmaskScript = """
        var nodes = document.querySelectorAll('[data-breakglass-mask]');
        for (var i = 0; i < nodes.length; i++) { nodes[i].remove(); }
        return nodes.length;
        """

    /// A PNG of the viewport with the map's mask selectors (global and the screen's) covered by black boxes, like
    /// Playwright's `mask`. The boxes are removed afterwards, or, with `unmaskByPress`, by the `press` that the
    /// caller makes next (one command fewer; the boxes take no pointer events and nothing reads the page between).
    /// `nil` when the screenshot could not be taken.
    public func maskedScreenshot(screen: String?, unmaskByPress: Bool = false) async -> Data? {
        let selectors = map.mask + (screen.flatMap { map.screen($0)?.mask } ?? [])
        do {
            _ = try await browser.executeScript(Self.maskScript, arguments: [.array(selectors.map { .string($0) })])
            let png = try await browser.screenshot()
            if !unmaskByPress { _ = try? await browser.executeScript(Self.unmaskScript) }
            return png
        } catch {
            return nil
        }
    }
}
