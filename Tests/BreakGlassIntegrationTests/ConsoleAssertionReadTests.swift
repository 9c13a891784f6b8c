import BreakGlassCore
import Foundation
import Testing

@testable import BreakGlassConsole

/// Issue 21: a screen's assertions are read in one script (`ConsoleSession.read`) instead of one WebDriver command
/// per assertion and matched element. The script must see what those commands saw: rendered text as Get Element
/// Text gives it (hidden elements empty, no-break spaces as spaces), Is Element Selected, the `value` property and
/// attributes. Here both read the same tricky page in a real Chromium and must agree on every element.
@Suite(
    "Console assertions read in one script (Chromium)", .serialized,
    .enabled(if: TestEnvironment.hasWebDriver, Comment(rawValue: TestEnvironment.skipHint)))
struct ConsoleAssertionReadTests {
    static let page = """
        <!doctype html><html><body><main>
        <div class="t">Acme&nbsp;Corp</div>
        <div class="t" style="display:none">Hidden Tenant</div>
        <div class="t" style="visibility:hidden">Invisible Tenant</div>
        <div class="t" style="opacity:0">Transparent Tenant</div>
        <div class="t" hidden>Attribute-hidden Tenant</div>
        <div class="t">  several   spaces
        and a line </div>
        <p class="t"><b>bold</b> and <i>italic</i><span style="display:none"> secret</span></p>
        <ul><li class="t" data-scope="admins.restore">One</li><li class="t" data-scope="users.reset-mfa">Two</li></ul>
        <input class="t" id="i" value="typed value">
        <input class="t" type="checkbox" name="scope" value="c1" checked>
        <input class="t" type="checkbox" name="scope" value="c2">
        <input class="t" type="radio" name="r" value="r1" checked>
        <select class="t"><option class="t" value="o1">Opt 1</option><option class="t" value="o2" selected>Opt 2</option></select>
        <select class="t" style="display:none"><option class="t" value="h1">Hidden option</option></select>
        <div class="t">line one<br>line two</div>
        <textarea class="t">area text</textarea>
        <div style="display:none"><span class="t">inside a hidden parent</span></div>
        <table><tr><td class="t">cell 1</td><td class="t">cell&nbsp;&nbsp;2</td></tr></table>
        </main></body></html>
        """

    @Test("the script reads text, value, selection and attributes as the per-element WebDriver commands do")
    func scriptMatchesWebDriver() async throws {
        let client = WebDriverClient(
            configuration: .init(
                url: TestEnvironment.webDriverURL ?? "http://127.0.0.1:9",
                chromiumBinary: TestEnvironment.chromiumBinary))
        let browser = try await client.newSession()
        do {
            let encoded = Self.page.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            try await browser.navigate(to: "data:text/html;charset=utf-8,\(encoded)")
            let map = try ConsoleMap.load(file: ConsoleHarness.referenceMapURL)
            let console = ConsoleSession(
                browser: browser, map: map, baseURL: "http://127.0.0.1:9",
                context: .init(request: ConsoleDriver.signInPlaceholder, username: "u", password: Secret("p")),
                masker: Masker())
            for attribute in ["data-scope", "value"] {
                let assertion = try #require(
                    map.screens.flatMap(\.assertions).first { $0.assertionKind == .listEquals })
                var reading = assertion
                reading.selector = ".t"
                reading.attribute = attribute
                let seen = try await console.read([reading]).found[0]
                let elements = try await browser.findElements(css: ".t")
                #expect(seen.count == elements.count && elements.count == 23)
                for (index, (element, read)) in zip(elements, seen).enumerated() {
                    let text = try await browser.text(of: element).trimmingCharacters(in: .whitespacesAndNewlines)
                    #expect(
                        read.text.trimmingCharacters(in: .whitespacesAndNewlines) == text,
                        "text of element \(index): script \(read.text.debugDescription), WebDriver \(text.debugDescription)"
                    )
                    #expect(try await browser.isSelected(element) == read.selected, "selected, element \(index)")
                    #expect(
                        try await browser.property("value", of: element).string == read.value, "value, element \(index)"
                    )
                    #expect(
                        try await browser.attribute(attribute, of: element) == read.attribute,
                        "attribute \(attribute), element \(index)")
                }
            }
            // A selector the browser refuses halts as before, naming that assertion (not the batch).
            var broken = try #require(map.screens.flatMap(\.assertions).first { $0.assertionKind == .textEquals })
            broken.selector = "main [[["
            let absent = try #require(map.screens.flatMap(\.assertions).first { $0.assertionKind == .absent })
            do throws(ConsoleFailure) {
                try await console.checkAll([absent, broken], screen: "s")
                Issue.record("an invalid selector passed")
            } catch {
                #expect(error.reasons == [.consoleUnexpectedScreen])
                #expect(error.detail.contains("assert text_equals main [[["), "\(error.detail)")
            }
        } catch {
            try? await browser.delete()
            throw error
        }
        try await browser.delete()
    }
}
