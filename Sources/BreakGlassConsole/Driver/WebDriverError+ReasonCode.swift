public import BreakGlassCore

extension WebDriverError {
    /// The contract's console reason code for a failed WebDriver command.
    ///
    /// - time (`timeout`, `script timeout`, the client's own command timeout) → `CONSOLE_TIMEOUT`;
    /// - the page is not what the map describes (`no such element`, `stale element reference`, `element not
    ///   interactable`, `element click intercepted`, `invalid selector`, `no such frame`) → `CONSOLE_UNEXPECTED_SCREEN`;
    /// - everything else (driver unreachable, session lost, JavaScript error, unknown) → `CONSOLE_ERROR`.
    public var reasonCode: ReasonCode {
        if code.isTimeout || isRendererTimeout { return .consoleTimeout }
        switch code {
        case .noSuchElement, .staleElementReference, .elementNotInteractable, .elementClickIntercepted,
            .invalidSelector,
            .noSuchFrame, .invalidElementState, .moveTargetOutOfBounds, .unexpectedAlertOpen:
            return .consoleUnexpectedScreen
        default:
            return .consoleError
        }
    }

    /// chromedriver reports a page that did not load in time as `unknown error: cannot determine loading status from
    /// timeout: Timed out receiving message from renderer` when the renderer is busy (seen under load): a timeout.
    var isRendererTimeout: Bool {
        code == .unknownError && (driverMessage?.contains("Timed out receiving message from renderer") ?? false)
    }

    /// The text of the JavaScript dialog an `unexpected alert open` error names (chromedriver:
    /// `unexpected alert open: {Alert text : ...}`), unmasked: mask it before it goes anywhere.
    var dialogText: String? {
        guard code == .unexpectedAlertOpen, let message = driverMessage,
            let start = message.range(of: "Alert text : ")
        else { return nil }
        let rest = message[start.upperBound...]
        return String(rest.prefix { $0 != "}" }).trimmingCharacters(in: .whitespaces)
    }

    /// As a flow failure on `screen`; `action` names what was attempted (no data).
    func failure(_ action: String, screen: String?) -> ConsoleFailure {
        ConsoleFailure(
            reasonCode, "\(action): WebDriver \(code.rawValue)", screen: screen,
            sessionBroken: code.isSessionFatal || code.isTimeout)
    }
}
