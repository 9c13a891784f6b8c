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

    func matches(_ recognize: ConsoleMap.Recognize) async throws -> Bool {
        let found = try await browser.findElements(css: recognize.selector)
        guard let first = found.first else { return false }
        guard let text = recognize.text else { return true }
        let holder: WebDriverElement
        if let selector = recognize.textSelector {
            guard let element = try await browser.findElementIfPresent(css: selector) else { return false }
            holder = element
        } else {
            holder = first
        }
        return try await browser.text(of: holder).contains(text)
    }

    /// The first watch rule that matches the page (ignoring those that expect their selector on `screen`).
    func firedWatch(expecting screen: String?) async throws -> ConsoleMap.Watch? {
        for watch in map.watch where !(screen.map { (watch.except ?? []).contains($0) } ?? false) {
            if try await !browser.findElements(css: watch.selector).isEmpty { return watch }
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
            let recognised = try await wd("recognise", screen: screen) { try await matches(recognize) }
            if let watch = try await wd(
                "watch", screen: screen, { try await firedWatch(expecting: recognised ? screen : nil) })
            {
                throw watchFailure(watch, screen: screen)
            }
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
                let element = try await browser.findElement(css: field.selector)
                try await browser.clear(element)
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

    /// Checks one assertion; a failure carries the assertion's reason code and what was seen (masked).
    public func check(_ assertion: ConsoleMap.Assertion, screen: String) async throws(ConsoleFailure) {
        let label = "\(assertion.kind) \(assertion.selector)"
        func fail(_ seen: String) -> ConsoleFailure {
            ConsoleFailure(
                assertion.reasonCode,
                "assertion \(label) failed: \(masker.mask(seen))"
                    + (assertion.note.map { " (\($0))" } ?? ""), screen: screen)
        }
        let expectedText = assertion.source?.text(in: context) ?? ""
        let expectedList = Set(assertion.source?.list(in: context) ?? [])
        let elements = try await wd("assert \(label)", screen: screen) {
            try await browser.findElements(css: assertion.selector)
        }
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
                let seen: String = try await wd("assert \(label)", screen: screen) {
                    assertion.assertionKind == .valueEquals
                        ? (try await browser.property("value", of: element).string ?? "")
                        : try await browser.text(of: element)
                }
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
            let attribute = assertion.attribute ?? "value"
            var checked: Set<String> = []
            try await wd("assert \(label)", screen: screen) {
                for element in elements where try await browser.isSelected(element) {
                    checked.insert(try await browser.attribute(attribute, of: element) ?? "")
                }
            }
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
                let seen = try await wd("assert \(label)", screen: screen) { try await browser.text(of: element) }
                let listed = Self.items(seen, separator: separator)
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
            var values: [String] = []
            try await wd("assert \(label)", screen: screen) {
                for element in elements {
                    if let attribute = assertion.attribute {
                        values.append(try await browser.attribute(attribute, of: element) ?? "")
                    } else {
                        values.append(
                            try await browser.text(of: element).trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
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
        try await wd("press \(what) (\(selector))", screen: screen) {
            let element = try await browser.findElement(css: selector)
            _ = try await browser.executeScript("window.__breakglassPage = true; return true;")
            try await browser.click(element)
        }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(navigationTimeoutMs ?? map.timeouts.screenMs))
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

    static let unmaskScript = """
        var nodes = document.querySelectorAll('[data-breakglass-mask]');
        for (var i = 0; i < nodes.length; i++) { nodes[i].remove(); }
        return nodes.length;
        """

    /// A PNG of the viewport with the map's mask selectors (global and the screen's) covered by black boxes, like
    /// Playwright's `mask`. The boxes are removed afterwards. `nil` when the screenshot could not be taken.
    public func maskedScreenshot(screen: String?) async -> Data? {
        let selectors = map.mask + (screen.flatMap { map.screen($0)?.mask } ?? [])
        do {
            _ = try await browser.executeScript(Self.maskScript, arguments: [.array(selectors.map { .string($0) })])
            let png = try await browser.screenshot()
            _ = try? await browser.executeScript(Self.unmaskScript)
            return png
        } catch {
            return nil
        }
    }
}
