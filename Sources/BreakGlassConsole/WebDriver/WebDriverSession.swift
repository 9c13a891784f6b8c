public import Foundation
import Synchronization

/// One browser session. Every method is one W3C WebDriver command; failures throw `WebDriverError`.
public struct WebDriverSession: Sendable {
    public let id: String
    public let client: WebDriverClient
    /// JavaScript dialogs chromedriver dismissed in this session (`unexpected alert open`), whatever command met
    /// them, even one whose error a caller ignored (a poll, a screenshot): the console flow halts on them.
    public let dialogs = DialogLog()

    public init(id: String, client: WebDriverClient) {
        self.id = id
        self.client = client
    }

    var base: String { "/session/\(id)" }

    @discardableResult
    func send(
        _ method: WebDriverHTTPMethod, _ suffix: String, template: String, body: WebDriverJSON? = nil
    ) async throws -> WebDriverJSON {
        do {
            return try await client.command(
                method, base + suffix, template: "\(method.rawValue) /session/{id}\(template)", body: body)
        } catch let error as WebDriverError where error.code == .unexpectedAlertOpen {
            dialogs.record(error.dialogText ?? "(no text)")
            throw error
        }
    }

    // MARK: - Session

    /// Ends the session (closes the browser).
    public func delete() async throws {
        _ = try await client.command(.DELETE, base, template: "DELETE /session/{id}", body: nil)
    }

    public func setTimeouts(_ timeouts: WebDriverTimeouts) async throws {
        try await send(.POST, "/timeouts", template: "/timeouts", body: timeouts.json)
    }

    public func deleteAllCookies() async throws {
        try await send(.DELETE, "/cookie", template: "/cookie")
    }

    // MARK: - Navigation

    public func navigate(to url: String) async throws {
        try await send(.POST, "/url", template: "/url", body: ["url": .string(url)])
    }

    public func currentURL() async throws -> String {
        try await send(.GET, "/url", template: "/url").string ?? ""
    }

    public func title() async throws -> String {
        try await send(.GET, "/title", template: "/title").string ?? ""
    }

    public func pageSource() async throws -> String {
        try await send(.GET, "/source", template: "/source").string ?? ""
    }

    public func back() async throws { try await send(.POST, "/back", template: "/back") }

    public func refresh() async throws { try await send(.POST, "/refresh", template: "/refresh") }

    // MARK: - Elements

    /// The first element matching a CSS selector; `no such element` when there is none (after the implicit wait).
    public func findElement(css selector: String, in parent: WebDriverElement? = nil) async throws -> WebDriverElement {
        let (suffix, template) =
            parent.map { ("/element/\($0.id)/element", "/element/{element}/element") } ?? ("/element", "/element")
        let value = try await send(
            .POST, suffix, template: template, body: ["using": "css selector", "value": .string(selector)])
        guard let element = WebDriverElement(json: value) else {
            throw WebDriverError.invalidResponse("POST /session/{id}\(template)", httpStatus: 200)
        }
        return element
    }

    /// Every element matching a CSS selector (possibly none).
    public func findElements(
        css selector: String, in parent: WebDriverElement? = nil
    ) async throws -> [WebDriverElement] {
        let (suffix, template) =
            parent.map { ("/element/\($0.id)/elements", "/element/{element}/elements") } ?? ("/elements", "/elements")
        let value = try await send(
            .POST, suffix, template: template, body: ["using": "css selector", "value": .string(selector)])
        guard let array = value.array else {
            throw WebDriverError.invalidResponse("POST /session/{id}\(template)", httpStatus: 200)
        }
        return array.compactMap(WebDriverElement.init(json:))
    }

    /// The first match, or `nil` when nothing matches (other errors still throw).
    public func findElementIfPresent(css selector: String) async throws -> WebDriverElement? {
        try await findElements(css: selector).first
    }

    public func click(_ element: WebDriverElement) async throws {
        try await send(.POST, "/element/\(element.id)/click", template: "/element/{element}/click", body: [:])
    }

    public func clear(_ element: WebDriverElement) async throws {
        try await send(.POST, "/element/\(element.id)/clear", template: "/element/{element}/clear", body: [:])
    }

    public func sendKeys(_ text: String, to element: WebDriverElement) async throws {
        try await send(
            .POST, "/element/\(element.id)/value", template: "/element/{element}/value", body: ["text": .string(text)])
    }

    /// The rendered (visible) text.
    public func text(of element: WebDriverElement) async throws -> String {
        try await send(.GET, "/element/\(element.id)/text", template: "/element/{element}/text").string ?? ""
    }

    /// An HTML attribute; `nil` when absent.
    public func attribute(_ name: String, of element: WebDriverElement) async throws -> String? {
        try await send(
            .GET, "/element/\(element.id)/attribute/\(name.webDriverPathSegment)",
            template: "/element/{element}/attribute/{name}"
        ).string
    }

    /// A DOM property (`value`, `checked`, ...).
    public func property(_ name: String, of element: WebDriverElement) async throws -> WebDriverJSON {
        try await send(
            .GET, "/element/\(element.id)/property/\(name.webDriverPathSegment)",
            template: "/element/{element}/property/{name}")
    }

    /// Whether a checkbox, radio button or option is selected.
    public func isSelected(_ element: WebDriverElement) async throws -> Bool {
        try await send(.GET, "/element/\(element.id)/selected", template: "/element/{element}/selected").bool ?? false
    }

    public func isEnabled(_ element: WebDriverElement) async throws -> Bool {
        try await send(.GET, "/element/\(element.id)/enabled", template: "/element/{element}/enabled").bool ?? false
    }

    public func isDisplayed(_ element: WebDriverElement) async throws -> Bool {
        try await send(.GET, "/element/\(element.id)/displayed", template: "/element/{element}/displayed").bool ?? false
    }

    // MARK: - Scripts and screenshots

    /// Runs a synchronous script (`return ...;`); elements may be passed with `element.json`.
    @discardableResult
    public func executeScript(_ script: String, arguments: [WebDriverJSON] = []) async throws -> WebDriverJSON {
        try await send(
            .POST, "/execute/sync", template: "/execute/sync",
            body: ["script": .string(script), "args": .array(arguments)])
    }

    /// The viewport as a PNG, base64 as the driver sends it.
    public func screenshotBase64() async throws -> String {
        guard let text = try await send(.GET, "/screenshot", template: "/screenshot").string else {
            throw WebDriverError.invalidResponse("GET /session/{id}/screenshot", httpStatus: 200)
        }
        return text
    }

    /// The viewport as PNG bytes.
    public func screenshot() async throws -> Data {
        guard let data = Data(base64Encoded: try await screenshotBase64()) else {
            throw WebDriverError.invalidResponse("GET /session/{id}/screenshot", httpStatus: 200)
        }
        return data
    }

    // MARK: - Conveniences

    /// Polls `condition` every `interval` until it holds or `timeout` passes; `timeout` error otherwise.
    public func wait(
        timeout: Duration, interval: Duration = .milliseconds(100),
        until condition: () async throws -> Bool
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if try await condition() { return }
            guard clock.now < deadline else {
                throw WebDriverError(code: .timeout, command: "wait")
            }
            try await Task.sleep(for: interval)
        }
    }

    /// Clicks an element that loads a new page (a submit button, a link) and waits until the new document has
    /// replaced the old one and finished loading. Chromedriver may return from a click before the navigation it
    /// starts has begun; without this, the next lookup can hit the old page. Throws `timeout` when no new page
    /// arrives within `timeout` (for example when the server never answers).
    public func clickAndWaitForNavigation(_ element: WebDriverElement, timeout: Duration) async throws {
        try await executeScript("window.__breakglassNavigationMarker = true;")
        try await click(element)
        try await wait(timeout: timeout) {
            do {
                let loaded = try await executeScript(
                    "return window.__breakglassNavigationMarker === undefined && document.readyState === 'complete';")
                return loaded == true
            } catch let error as WebDriverError
                where error.code == .javascriptError || error.code == .unknownError
                || error.code == .staleElementReference
            {
                // The old document is being torn down: not there yet.
                return false
            }
        }
    }

    /// Waits until an element matching `selector` exists, and returns it.
    public func waitForElement(css selector: String, timeout: Duration) async throws -> WebDriverElement {
        var found: WebDriverElement?
        try await wait(timeout: timeout) {
            found = try await findElementIfPresent(css: selector)
            return found != nil
        }
        return found!
    }
}

/// The dialogs a session met, until someone takes them.
public final class DialogLog: Sendable {
    private let texts = Mutex<[String]>([])

    public init() {}

    func record(_ text: String) { texts.withLock { $0.append(text) } }

    /// The dialogs met since the last call (unmasked: mask before showing).
    public func take() -> [String] {
        texts.withLock { texts in
            defer { texts = [] }
            return texts
        }
    }
}
