@testable import BreakGlassConsole
import BreakGlassCore
import BreakGlassTestSupport
import Testing

/// The final click's reason code when chromedriver does not hold the click to its page-load bound (a clean-clone CI
/// run of a5421e0: the confirmation hung, the 3 s bound ended only when the page answered 60 s later, and the click's
/// unknown error became CONSOLE_ERROR, where the person taking over must read CONSOLE_TIMEOUT). A scripted WebDriver
/// answers the click with `unknown error`, late or at once.
@Suite struct ConsolePressTimeoutTests {
    static let element = #"{"value":{"element-6066-11e4-a52e-4f735466cecf":"e1"}}"#
    static let unknownError =
        #"{"value":{"error":"unknown error","message":"disconnected: not connected to DevTools","stacktrace":""}}"#

    /// `press` against a WebDriver whose click answers `unknown error` after `clickDelay` (dripped byte by byte).
    static func press(clickDelay: Duration?, bound: Int) async throws -> ConsoleFailure? {
        let drip = clickDelay.map { $0 / unknownError.utf8.count }
        return try await ScriptedServer.with({ path, _ in
            if path.hasSuffix("/execute/sync") { return .json(element) }
            if path.hasSuffix("/element/e1/click") {
                return ScriptedServer.Answer(status: 500, body: unknownError, dripInterval: drip)
            }
            return .json(#"{"value":null}"#)
        }) { baseURL -> ConsoleFailure? in
            let map = try ConsoleMap.load(file: ConsoleMapTests.referenceURL)
            let session = ConsoleSession(
                browser: WebDriverSession(id: "s", client: WebDriverClient(configuration: .init(url: baseURL))),
                map: map, baseURL: "http://console.example/",
                context: .init(request: ConsoleTestRequests.request(), username: "svc", password: Secret("pw-123456")),
                masker: Masker())
            do {
                try await session.press(
                    "#submit", what: "submit", screen: "review", navigationTimeoutMs: bound, originChecked: true)
                return nil
            } catch {
                return error as? ConsoleFailure
            }
        }
    }

    @Test func aClickThatOutlastsItsBoundIsATimeoutWhateverChromedriverSays() async throws {
        let failure = try #require(try await Self.press(clickDelay: .milliseconds(900), bound: 200))
        #expect(failure.reasons == [.consoleTimeout], "\(failure.detail)")
        #expect(failure.sessionBroken)
        #expect(failure.detail.contains("unknown error"), "\(failure.detail)")
    }

    @Test func aClickThatFailsAtOnceKeepsItsOwnCode() async throws {
        let failure = try #require(try await Self.press(clickDelay: nil, bound: 5_000))
        #expect(failure.reasons == [.consoleError], "\(failure.detail)")
    }

    /// The same rule after the click, for every command while the confirmation is awaited: only a console error, only
    /// past the bound.
    @Test func onlyAConsoleErrorPastTheBoundBecomesATimeout() {
        let error = ConsoleFailure(.consoleError, "confirmation: WebDriver unknown error", screen: "confirmation")
        #expect(error.late(.seconds(4), bound: .seconds(3)).reasons == [.consoleTimeout])
        #expect(error.late(.seconds(4), bound: .seconds(3)).sessionBroken)
        #expect(error.late(.seconds(2), bound: .seconds(3)) == error)
        let screen = ConsoleFailure(.consoleUnexpectedScreen, "confirmation: no such element", screen: "confirmation")
        #expect(screen.late(.seconds(60), bound: .seconds(3)) == screen)
        let ambiguous = ConsoleFailure(.confirmationAmbiguous, "no id", screen: "confirmation")
        #expect(ambiguous.late(.seconds(60), bound: .seconds(3)) == ambiguous)
    }
}
