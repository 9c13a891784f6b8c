import BreakGlassConsole
import BreakGlassCore
import Foundation
import Testing
import BreakGlassEvidence

@Suite("Console driver pieces")
struct ConsoleDriverUnitTests {
    @Test("WebDriver errors map to the contract's console reason codes")
    func reasonCodes() {
        func code(_ c: WebDriverError.Code) -> ReasonCode { WebDriverError(code: c, command: "x").reasonCode }
        #expect(code(.timeout) == .consoleTimeout)
        #expect(code(.scriptTimeout) == .consoleTimeout)
        #expect(code(.commandTimedOut) == .consoleTimeout)
        #expect(code(.noSuchElement) == .consoleUnexpectedScreen)
        #expect(code(.staleElementReference) == .consoleUnexpectedScreen)
        #expect(code(.elementNotInteractable) == .consoleUnexpectedScreen)
        #expect(code(.elementClickIntercepted) == .consoleUnexpectedScreen)
        #expect(code(.invalidSelector) == .consoleUnexpectedScreen)
        #expect(code(.transportFailure) == .consoleError)
        #expect(code(.invalidSessionID) == .consoleError)
        #expect(code(.javascriptError) == .consoleError)
        #expect(code(.unknownError) == .consoleError)
        let renderer = WebDriverError(
            code: .unknownError, command: "x",
            driverMessage:
                "unknown error: cannot determine loading status\nfrom timeout: Timed out receiving message from renderer: 3.000"
        )
        #expect(renderer.reasonCode == .consoleTimeout)
    }

    @Test("paths get their placeholders filled from the request, URL-encoded")
    func urls() throws {
        let map = try ConsoleMap.load(file: ConsoleMapTests.referenceURL)
        let client = WebDriverClient(configuration: .init(url: "http://127.0.0.1:9"))
        let session = ConsoleSession(
            browser: WebDriverSession(id: "s", client: client), map: map, baseURL: "http://console.example/",
            context: .init(
                request: ConsoleTestRequests.request(), username: "svc", password: Secret("pw-123456"),
                confirmationID: "BG-ABCD1234"),
            masker: Masker())
        #expect(
            session.url(map.activeGrants.path)
                == "http://console.example/console/grants?tenant_id=tnt-4f9a2c&external_reference=CASE-88121%2Ftnt-4f9a2c"
        )
        #expect(
            session.url("/console/grants/{confirmation_id}/revoke")
                == "http://console.example/console/grants/BG-ABCD1234/revoke")
        #expect(
            session.url("/console/drafts/{draft_id}", extra: ["draft_id": "D 1"])
                == "http://console.example/console/drafts/D%201")
    }

    @Test("failures carry their codes and a generic description")
    func failures() {
        let failure = ConsoleFailure(.consoleScopeDrift, "checked tenant.full-admin", screen: "scope")
        #expect(failure.reasons == [.consoleScopeDrift])
        #expect(failure.description == "console flow stopped: CONSOLE_SCOPE_DRIFT")
        #expect(!failure.description.contains("tenant.full-admin"))
    }

    @Test("the recorder masks steps and documents and measures the recheck→click window")
    func recorder() throws {
        var recorder = EvidenceRecorder(
            caseID: "C-1", tenantID: "t-1", requestID: "R-1", workerID: "w",
            masker: Masker(literals: ["s3cret-pass"]))
        recorder.step("console", screen: "login", action: "typed s3cret-pass", detail: "mail a.b@c.example")
        recorder.document("x.json", ["token": "abc", "note": "s3cret-pass"])
        recorder.mark("recheck_finished", at: Date(timeIntervalSince1970: 10))
        recorder.mark("click", at: Date(timeIntervalSince1970: 10.04))
        #expect(recorder.recheckToClick.map { abs($0 - 0.04) < 0.0001 } == true)
        let bundle = recorder.bundle(kind: "halt", outcome: "halted", reasons: ["CONSOLE_ERROR"])
        for artifact in bundle.artifacts {
            let text = String(decoding: artifact.data, as: UTF8.self)
            #expect(!text.contains("s3cret-pass"))
            #expect(!text.contains("a.b@c.example"))
            #expect(!text.contains("\"abc\""))
        }
        #expect(Set(bundle.artifacts.map(\.path)) == ["steps.jsonl", "x.json", "timing.json"])
    }
}
