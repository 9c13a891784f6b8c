/// A failed WebDriver command. `code` is the W3C error code (`no such element`, `timeout`, `stale element
/// reference`, ...) or one of the client's own (`transport failure`, `invalid response`, `command timed out`).
///
/// `description` is generic. `command` names the endpoint template (`POST /session/{id}/element`), never a URL
/// with data; `driverMessage` is the driver's own text, which may quote page content or selectors: keep it out of
/// logs that must stay clean.
public struct WebDriverError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // W3C WebDriver error codes (§6.6 of the specification).
        public static let elementClickIntercepted = Code(rawValue: "element click intercepted")
        public static let elementNotInteractable = Code(rawValue: "element not interactable")
        public static let insecureCertificate = Code(rawValue: "insecure certificate")
        public static let invalidArgument = Code(rawValue: "invalid argument")
        public static let invalidCookieDomain = Code(rawValue: "invalid cookie domain")
        public static let invalidElementState = Code(rawValue: "invalid element state")
        public static let invalidSelector = Code(rawValue: "invalid selector")
        public static let invalidSessionID = Code(rawValue: "invalid session id")
        public static let javascriptError = Code(rawValue: "javascript error")
        public static let moveTargetOutOfBounds = Code(rawValue: "move target out of bounds")
        public static let noSuchAlert = Code(rawValue: "no such alert")
        public static let noSuchCookie = Code(rawValue: "no such cookie")
        public static let noSuchElement = Code(rawValue: "no such element")
        public static let noSuchFrame = Code(rawValue: "no such frame")
        public static let noSuchWindow = Code(rawValue: "no such window")
        public static let noSuchShadowRoot = Code(rawValue: "no such shadow root")
        public static let scriptTimeout = Code(rawValue: "script timeout")
        public static let sessionNotCreated = Code(rawValue: "session not created")
        public static let staleElementReference = Code(rawValue: "stale element reference")
        public static let detachedShadowRoot = Code(rawValue: "detached shadow root")
        public static let timeout = Code(rawValue: "timeout")
        public static let unableToSetCookie = Code(rawValue: "unable to set cookie")
        public static let unableToCaptureScreen = Code(rawValue: "unable to capture screen")
        public static let unexpectedAlertOpen = Code(rawValue: "unexpected alert open")
        public static let unknownCommand = Code(rawValue: "unknown command")
        public static let unknownError = Code(rawValue: "unknown error")
        public static let unknownMethod = Code(rawValue: "unknown method")
        public static let unsupportedOperation = Code(rawValue: "unsupported operation")

        // The client's own.
        /// The driver could not be reached or the connection broke.
        public static let transportFailure = Code(rawValue: "transport failure")
        /// The driver answered something that is not a WebDriver response.
        public static let invalidResponse = Code(rawValue: "invalid response")
        /// The driver did not answer within the client's command timeout.
        public static let commandTimedOut = Code(rawValue: "command timed out")

        /// Whether the failure is about time (the page or the driver did not answer in time).
        public var isTimeout: Bool { self == .timeout || self == .scriptTimeout || self == .commandTimedOut }

        /// Whether the browser session is unusable afterwards (recycle it).
        public var isSessionFatal: Bool {
            self == .invalidSessionID || self == .sessionNotCreated || self == .transportFailure
                || self == .noSuchWindow
        }
    }

    public let code: Code
    /// `POST /session/{id}/element`: the endpoint template.
    public let command: String
    /// HTTP status of the driver's answer, `nil` when there was none.
    public let httpStatus: Int?
    /// The driver's message; may contain page data or selectors.
    public let driverMessage: String?

    public init(code: Code, command: String, httpStatus: Int? = nil, driverMessage: String? = nil) {
        self.code = code
        self.command = command
        self.httpStatus = httpStatus
        self.driverMessage = driverMessage
    }

    public var description: String { "WebDriver command failed: \(code.rawValue)" }

    public static func transportFailure(_ command: String) -> WebDriverError {
        .init(code: .transportFailure, command: command)
    }
    public static func invalidResponse(_ command: String, httpStatus: Int?) -> WebDriverError {
        .init(code: .invalidResponse, command: command, httpStatus: httpStatus)
    }
    public static func commandTimedOut(_ command: String) -> WebDriverError {
        .init(code: .commandTimedOut, command: command)
    }
}
