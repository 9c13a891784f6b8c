import BreakGlassConsole
import BreakGlassCore
import BreakGlassSimulator
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16.2: the console origin is pinned. A configured console URL that redirects to another origin must never
/// get the password typed into the other origin's page, nor a click (on main 052ef4c the worker typed and posted it).
@Suite(
    "Console security (Chromium + simulator)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleSecurityTests {
    /// An HTTP server on 127.0.0.1 that answers every request with a 302 to `target` + the same path.
    final class RedirectServer: @unchecked Sendable {
        let process = Process()
        let port: Int

        init(target: String) throws {
            port = AMQPTestSupport.freePort(in: 50_000...59_000)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [
                "-c",
                """
                import http.server, sys
                target = sys.argv[2]
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        self.send_response(302); self.send_header("Location", target + self.path); self.end_headers()
                    do_POST = do_GET
                    def log_message(self, *args): pass
                http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
                """, String(port), target,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// SIGKILL (a child of `Process` inherits the runtime's blocked SIGTERM), then a bounded poll (`waitUntilExit`
        /// can spin forever inside Swift concurrency on Linux).
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
        }
    }

    @Test(
        "a console URL redirecting to another origin: halted CONSOLE_UNEXPECTED_SCREEN before any fill, no login, no grant"
    )
    func redirectToAnotherOriginHalts() async throws {
        var server: RedirectServer?
        defer { server?.stop() }
        try await ConsoleHarness.run(consoleURL: { simURL in
            // The simulator's own pages, but on another origin (localhost instead of 127.0.0.1): what an attacker
            // controlling a redirect would show.
            let other = simURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
            let redirect = try! RedirectServer(target: other)
            server = redirect
            return "http://127.0.0.1:\(redirect.port)"
        }) { h in
            let port = try #require(server?.port)
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(10)) { AMQPTestSupport.accepts(port) })
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover, "granted through another origin")
            #expect(record.reasons == [.consoleUnexpectedScreen])
            #expect(!outcome.clicked)
            #expect(record.enteredValues.isEmpty, "nothing was typed: \(record.enteredValues)")
            #expect(await h.beforeSubmitCalls.value == 0)
            #expect(await h.grantCount(request) == 0)
            #expect(await h.sim.state.loginAttempts() == 0, "the console password was posted to another origin")
        }
    }

    /// Issue 16.8: chromedriver was told to dismiss JavaScript dialogs silently, so a console that asked the operator
    /// something went on as if nothing had been asked.
    @Test("a JavaScript dialog halts the flow with its text, masked, in the takeover record; nothing clicked")
    func dialogHaltsTheFlow() async throws {
        try await ConsoleHarness.run(pageLoad: .seconds(2)) { h in
            await h.sim.state.setGlobalFaults(FaultModes(dialogAtScreen: "incident"))
            let request = ConsoleHarness.request()
            let outcome = await h.driver.submit(request, hooks: h.hooks())
            let record = try #require(outcome.takeover, "granted although a dialog opened")
            #expect(record.reasons == [.consoleUnexpectedScreen])
            #expect(!outcome.clicked)
            let note = record.note ?? ""
            #expect(note.contains("JavaScript dialog"), "\(note)")
            #expect(note.contains("tnt-other"), "the dialog's text is kept: \(note)")
            #expect(!note.contains("ceo@acme.example"), "the dialog's text is masked: \(note)")
            await h.sim.state.clearFaults()
            #expect(await h.grantCount(request) == 0)
        }
    }

    @Test("origins compare scheme, host and port (default ports made explicit)")
    func originComparison() {
        #expect(ConsoleSession.origin(of: "http://127.0.0.1:8080/login?x=1") == "http://127.0.0.1:8080")
        #expect(ConsoleSession.origin(of: "HTTPS://Console.Example/a") == "https://console.example:443")
        #expect(
            ConsoleSession.origin(of: "https://console.example:443/")
                == ConsoleSession.origin(of: "https://console.example"))
        #expect(
            ConsoleSession.origin(of: "http://localhost:8080/") != ConsoleSession.origin(of: "http://127.0.0.1:8080/"))
        #expect(ConsoleSession.origin(of: "about:blank") == nil)
    }
}
