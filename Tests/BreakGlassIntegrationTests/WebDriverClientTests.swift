import BreakGlassConsole
import BreakGlassSimulator
import Foundation
import Testing

/// The W3C WebDriver client against chromedriver + chromium, on the simulator's login page.
@Suite("WebDriver client", .serialized)
struct WebDriverClientTests {
    typealias B = SimulatorBrowserSupport

    @Test func commandsAndW3CErrors() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        #expect(try await B.webDriver.isReady())
        try await B.withConsole { sim, console in
            let session = console.session
            try await session.navigate(to: sim.baseURL + "/console/login")
            #expect(try await session.currentURL() == sim.baseURL + "/console/login")
            #expect(try await session.title().hasPrefix("Sign in to the emergency admin console"))
            #expect(try await session.pageSource().contains("data-screen=\"login\""))

            let user = try await session.findElement(css: "#username")
            try await session.sendKeys("abc", to: user)
            #expect(try await session.property("value", of: user) == "abc")
            try await session.clear(user)
            #expect(try await session.property("value", of: user) == "")
            #expect(try await session.attribute("name", of: user) == "username")
            #expect(try await session.attribute("data-nothing", of: user) == nil)
            #expect(try await session.isDisplayed(user))
            #expect(try await session.isEnabled(user))
            #expect(try await session.findElements(css: "input").count >= 3)
            #expect(try await session.findElements(css: ".does-not-exist").isEmpty)
            let form = try await session.findElement(css: "form#login-form")
            _ = try await session.findElement(css: "#password", in: form)

            // Scripts get elements as arguments and return JSON.
            let tag = try await session.executeScript(
                "return arguments[0].tagName + ':' + arguments[1];",
                arguments: [user.json, 42])
            #expect(tag == "INPUT:42")
            let back = try await session.executeScript("return document.querySelector('#username');")
            #expect(WebDriverElement(json: back) == user)
            let structured = try await session.executeScript("return {a: [1, true, null], b: 'x'};")
            #expect(structured == ["a": [1, true, nil], "b": "x"])

            // W3C error codes.
            let missing = await #expect(throws: WebDriverError.self) { try await session.findElement(css: "#nope") }
            #expect(missing?.code == .noSuchElement)
            #expect(missing?.description == "WebDriver command failed: no such element")
            #expect(missing?.command == "POST /session/{id}/element")
            let invalid = await #expect(throws: WebDriverError.self) { try await session.findElement(css: "[[[") }
            #expect(invalid?.code == .invalidSelector)
            let script = await #expect(throws: WebDriverError.self) {
                try await session.executeScript("throw new Error('x');")
            }
            #expect(script?.code == .javascriptError)
            try await session.refresh()
            let stale = await #expect(throws: WebDriverError.self) { try await session.click(user) }
            #expect(stale?.code == .staleElementReference)

            // Timeouts: an implicit wait makes a lookup wait for the element, then fail with `no such element`.
            try await session.setTimeouts(.init(implicit: .milliseconds(300)))
            let clock = ContinuousClock()
            let started = clock.now
            _ = await #expect(throws: WebDriverError.self) { try await session.findElement(css: "#nope") }
            #expect(clock.now - started >= .milliseconds(300))
            try await session.setTimeouts(.init(implicit: .zero))

            let png = try await session.screenshot()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        }
    }

    @Test func deletedSessionAndUnreachableDriver() async throws {
        guard TestEnvironment.hasWebDriver else {
            print(TestEnvironment.skipHint)
            return
        }
        let session = try await B.webDriver.newSession()
        try await session.delete()
        let gone = await #expect(throws: WebDriverError.self) { try await session.currentURL() }
        #expect(gone?.code == .invalidSessionID)
        #expect(gone?.code.isSessionFatal == true)

        let nowhere = WebDriverClient(configuration: .init(url: "http://127.0.0.1:1", newSessionTimeout: .seconds(2)))
        let refused = await #expect(throws: WebDriverError.self) { try await nowhere.newSession() }
        #expect(refused?.code == .transportFailure || refused?.code == .commandTimedOut)
    }

    @Test func capabilitiesCarryHeadlessRootFlags() {
        let client = WebDriverClient(
            configuration: .init(url: "http://127.0.0.1:9516/", chromiumBinary: "/usr/bin/chromium"))
        #expect(client.configuration.url == "http://127.0.0.1:9516")
        let options = client.capabilities["capabilities"]?["alwaysMatch"]?["goog:chromeOptions"]
        #expect(options?["binary"] == "/usr/bin/chromium")
        let args = options?["args"]?.array?.compactMap(\.string) ?? []
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] {
            #expect(args.contains(flag))
        }
    }
}
