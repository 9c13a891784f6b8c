public import AsyncHTTPClient
import Foundation
public import Logging
import NIOCore
import NIOHTTP1

/// A minimal W3C WebDriver client (JSON over HTTP) for chromedriver and Debian's chromium.
///
/// ```swift
/// let client = WebDriverClient(configuration: .init(url: "http://127.0.0.1:9516", chromiumBinary: "/usr/bin/chromium"))
/// let session = try await client.newSession()
/// try await session.navigate(to: "http://127.0.0.1:8080/console/login")
/// try await session.delete()
/// ```
public struct WebDriverClient: Sendable {
    public struct Configuration: Sendable {
        /// The driver's base URL, `http://127.0.0.1:9516` (no trailing slash needed).
        public var url: String
        /// `goog:chromeOptions.binary`; `nil` lets chromedriver find Chrome itself.
        public var chromiumBinary: String?
        /// `goog:chromeOptions.args`. Default `defaultChromiumArguments` (headless, right for running as root).
        public var chromiumArguments: [String]
        /// `goog:chromeOptions.prefs`. Default `defaultChromiumPreferences`.
        public var chromiumPreferences: [String: WebDriverJSON]
        /// Bound on one command's HTTP round trip (kept above the session's page-load timeout). Default 120 s.
        public var commandTimeout: Duration
        /// Bound on creating a session (starting a browser). Default 60 s.
        public var newSessionTimeout: Duration

        /// `--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage` (PLATFORM.md: needed as root), a fixed
        /// window size so screenshots are comparable, and `--remote-debugging-pipe`: chromedriver talks DevTools to the
        /// browser over a pipe, so the browser opens no DevTools TCP port another local user could attach to and
        /// watch the console password being posted (issue 16.1).
        ///
        /// Then what a browser that only drives one console needs no part of (issue 21.4, measured by
        /// `bench/worker/chromium_flags.py`): an incognito profile (no history, favicon or visited-link writes per
        /// page, nothing of a session written to disk), no extensions, component updates, sync, background
        /// networking or field-trial experiments, and none of the navigation features that keep or swap documents
        /// (back-forward cache, a new render frame per document, paint holding). Together about 25 % less browser
        /// CPU per button press that loads a page and 40 % less per navigation.
        public static let defaultChromiumArguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1024",
            "--remote-debugging-pipe",
            "--incognito", "--disable-extensions", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-field-trial-config",
            "--disable-features=RenderDocument,BackForwardCache,PaintHolding,OptimizationHints,Translate,MediaRouter,"
                + "AutofillServerCommunication,InterestFeedContentSuggestions",
        ]

        /// `goog:chromeOptions.prefs` by default: no password manager (the browser never offers to keep the
        /// console password) and no autofill (no field of the console is filled from anything stored).
        public static let defaultChromiumPreferences: [String: WebDriverJSON] = [
            "credentials_enable_service": false, "profile.password_manager_enabled": false,
            "autofill.profile_enabled": false, "autofill.credit_card_enabled": false,
            "search.suggest_enabled": false, "safebrowsing.enabled": false, "translate.enabled": false,
            "net.network_prediction_options": 2,
        ]

        public init(
            url: String, chromiumBinary: String? = nil,
            chromiumArguments: [String] = Configuration.defaultChromiumArguments,
            chromiumPreferences: [String: WebDriverJSON] = Configuration.defaultChromiumPreferences,
            commandTimeout: Duration = .seconds(120), newSessionTimeout: Duration = .seconds(60)
        ) {
            self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
            self.chromiumBinary = chromiumBinary
            self.chromiumArguments = chromiumArguments
            self.chromiumPreferences = chromiumPreferences
            self.commandTimeout = commandTimeout
            self.newSessionTimeout = newSessionTimeout
        }
    }

    public let configuration: Configuration
    let httpClient: HTTPClient
    let logger: Logger

    public init(
        configuration: Configuration, httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "breakglass.webdriver")
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
    }

    /// The capabilities sent by `newSession`.
    public var capabilities: WebDriverJSON {
        var chromeOptions: [String: WebDriverJSON] = [
            "args": .array(configuration.chromiumArguments.map { .string($0) })
        ]
        if let binary = configuration.chromiumBinary { chromeOptions["binary"] = .string(binary) }
        if !configuration.chromiumPreferences.isEmpty {
            chromeOptions["prefs"] = .object(configuration.chromiumPreferences)
        }
        return [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    // A dialog must stop the flow, not be dismissed silently (issue 16.8): chromedriver dismisses
                    // it and fails the next command with `unexpected alert open`, naming the dialog's text.
                    "unhandledPromptBehavior": "dismiss and notify",
                    "goog:chromeOptions": .object(chromeOptions),
                ]
            ]
        ]
    }

    /// Starts a browser session.
    public func newSession() async throws -> WebDriverSession {
        let value = try await command(
            .POST, "/session", template: "POST /session", body: capabilities,
            timeout: configuration.newSessionTimeout)
        guard let id = value["sessionId"]?.string, !id.isEmpty else {
            throw WebDriverError.invalidResponse("POST /session", httpStatus: 200)
        }
        logger.debug("webdriver session created")
        return WebDriverSession(id: id, client: self)
    }

    /// Whether the driver says it is ready for new sessions (`GET /status`).
    public func isReady() async throws -> Bool {
        let value = try await command(.GET, "/status", template: "GET /status", body: nil)
        return value["ready"]?.bool ?? false
    }

    /// Sends one command and returns the response's `value`, or throws the W3C error it carries.
    public func command(
        _ method: WebDriverHTTPMethod, _ path: String, template: String, body: WebDriverJSON?,
        timeout: Duration? = nil
    ) async throws -> WebDriverJSON {
        var request = HTTPClientRequest(url: configuration.url + path)
        request.method = method.nio
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            let data = try JSONEncoder().encode(body)
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(bytes: data))
        } else if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
            request.body = .bytes(ByteBuffer(string: "{}"))
        }
        let bound = timeout ?? configuration.commandTimeout
        let status: Int
        let bytes: ByteBuffer
        do {
            let (seconds, attoseconds) = bound.components
            let response = try await httpClient.execute(
                request, timeout: .milliseconds(seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: 64 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw WebDriverError.commandTimedOut(template)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw WebDriverError.transportFailure(template)
        }
        let decoded: WebDriverJSON
        do {
            decoded = try JSONDecoder().decode(WebDriverJSON.self, from: Data(bytes.readableBytesView))
        } catch {
            throw WebDriverError.invalidResponse(template, httpStatus: status)
        }
        guard let value = decoded["value"] else { throw WebDriverError.invalidResponse(template, httpStatus: status) }
        if (200..<300).contains(status), value["error"]?.string == nil {
            return value
        }
        guard let code = value["error"]?.string else {
            throw WebDriverError.invalidResponse(template, httpStatus: status)
        }
        let error = WebDriverError(
            code: .init(rawValue: code), command: template, httpStatus: status,
            driverMessage: value["message"]?.string)
        logger.debug(
            "webdriver command failed",
            metadata: [
                "breakglass.webdriver.command": "\(template)",
                "breakglass.webdriver.error": "\(code)",
            ])
        throw error
    }
}
