public import BreakGlassCore

/// Why the console flow stopped: a console reason code, what went wrong (masked, no secrets), and where.
/// Thrown inside a flow and turned into a takeover record by the driver.
public struct ConsoleFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var reasons: [ReasonCode]
    /// What failed, for the person taking over (masked by the driver before it is stored).
    public var detail: String
    /// The map's screen name, when known.
    public var screen: String?
    /// Whether the browser session must be recycled afterwards.
    public var sessionBroken: Bool

    public init(_ reason: ReasonCode, _ detail: String, screen: String? = nil, sessionBroken: Bool = false) {
        self.reasons = [reason]
        self.detail = detail
        self.screen = screen
        self.sessionBroken = sessionBroken
    }

    public init(reasons: [ReasonCode], _ detail: String, screen: String? = nil) {
        self.reasons = reasons
        self.detail = detail
        self.screen = screen
        self.sessionBroken = false
    }

    public var description: String { "console flow stopped: \(reasons.map(\.rawValue).joined(separator: ", "))" }

    /// This failure as the console not answering in time, when it is a console error that came after `bound` had
    /// passed (`elapsed`) in a flow not cancelled. Under load chromedriver does not always hold a command to its
    /// page-load bound: it answers when the page finally does, sometimes with an unknown error (a clean-clone CI run
    /// saw a 3 s confirmation bound end after 60 s as CONSOLE_ERROR, where the person taking over must read
    /// CONSOLE_TIMEOUT).
    func late(_ elapsed: Duration, bound: Duration) -> ConsoleFailure {
        guard reasons == [.consoleError], elapsed >= bound, !Task.isCancelled else { return self }
        return ConsoleFailure(
            .consoleTimeout, "\(detail), after \(elapsed) against a bound of \(bound)", screen: screen,
            sessionBroken: true)
    }

    static func unexpectedScreen(_ detail: String, screen: String?) -> ConsoleFailure {
        .init(.consoleUnexpectedScreen, detail, screen: screen)
    }
    static func timeout(_ detail: String, screen: String?) -> ConsoleFailure {
        .init(.consoleTimeout, detail, screen: screen)
    }
    static func error(_ detail: String, screen: String?) -> ConsoleFailure {
        .init(.consoleError, detail, screen: screen)
    }
}
