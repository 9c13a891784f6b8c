import AsyncHTTPClient
import BreakGlassConsole
import BreakGlassSimulator
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Runs the simulator in-process and drives its console in a real headless Chromium through `WebDriverClient`.
enum SimulatorBrowserSupport {
    static let apiToken = "integration-api-token-0123"
    static let controlToken = "integration-control-token-4567"
    static let consolePassword = "sample-console-password"

    static var sampleFixturesURL: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("config/simulator.fixtures.yaml")
    }

    static var webDriver: WebDriverClient {
        WebDriverClient(
            configuration: .init(
                url: TestEnvironment.webDriverURL ?? "http://127.0.0.1:9",
                chromiumBinary: TestEnvironment.chromiumBinary))
    }

    /// A simulator with the sample fixtures and a fresh browser session; both are closed afterwards.
    static func withConsole(_ body: (RunningSimulator, BrowserConsole) async throws -> Void) async throws {
        let fixtures = try SimulatorFixtures.load(contentsOf: sampleFixturesURL)
        let simulator = try Simulator(
            configuration: .init(apiToken: apiToken, controlToken: controlToken), fixtures: fixtures)
        try await simulator.withRunning { sim in
            let session = try await webDriver.newSession()
            do {
                try await session.setTimeouts(.init(implicit: .zero, pageLoad: .seconds(20), script: .seconds(10)))
                try await body(sim, BrowserConsole(session: session, baseURL: sim.baseURL))
            } catch {
                try? await session.delete()
                throw error
            }
            try await session.delete()
        }
    }

    /// Control API call (JSON body) against the running simulator.
    @discardableResult
    static func control(
        _ sim: RunningSimulator, _ method: HTTPMethod, _ path: String, json: String? = nil
    ) async throws -> Int {
        var request = HTTPClientRequest(url: sim.baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(controlToken)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    static func setFaults(_ sim: RunningSimulator, tenant: String? = nil, _ json: String) async throws {
        let path = tenant.map { "/control/faults/tenants/\($0)" } ?? "/control/faults/global"
        let status = try await control(sim, .PUT, path, json: json)
        #expect(status == 200)
    }

    /// The IAM admin-state's session refs of a tenant, via the live-source API.
    static func iamGrantRefs(_ sim: RunningSimulator, tenant: String) async throws -> [String] {
        var request = HTTPClientRequest(url: sim.baseURL + "/v1/iam/tenants/\(tenant)/admin-state")
        request.headers.add(name: "Authorization", value: "Bearer \(apiToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        let sessions = json?["active_breakglass_sessions"] as? [[String: Any]] ?? []
        return sessions.compactMap { $0["grant_ref"] as? String }
    }
}

/// The reference console seen through the browser: the ids and `data-screen` markers a console map would use.
struct BrowserConsole {
    let session: WebDriverSession
    let baseURL: String

    /// The `data-screen` of the current page (`nil` when there is no `<main data-screen>`).
    func screen() async throws -> String? {
        guard let main = try await session.findElementIfPresent(css: "main[data-screen]") else { return nil }
        return try await session.attribute("data-screen", of: main)
    }

    func text(_ selector: String) async throws -> String {
        try await session.text(of: session.findElement(css: selector))
    }

    func exists(_ selector: String) async throws -> Bool {
        try await session.findElementIfPresent(css: selector) != nil
    }

    func type(_ selector: String, _ value: String) async throws {
        let element = try await session.findElement(css: selector)
        try await session.clear(element)
        try await session.sendKeys(value, to: element)
    }

    /// Clicks a button or link that loads the next page, and waits for it.
    func click(_ selector: String, timeout: Duration = .seconds(20)) async throws {
        try await session.clickAndWaitForNavigation(session.findElement(css: selector), timeout: timeout)
    }

    /// Sets a checkbox to `checked` by clicking it when it differs.
    func setCheckbox(_ selector: String, _ checked: Bool) async throws {
        let box = try await session.findElement(css: selector)
        if try await session.isSelected(box) != checked { try await session.click(box) }
    }

    func login(password: String = SimulatorBrowserSupport.consolePassword) async throws {
        try await session.navigate(to: baseURL + "/console/login")
        try await type("#username", "svc-breakglass")
        try await type("#password", password)
        try await click("#login-submit")
    }

    /// Login → tenant → tenant-verify (stops there, on the verification page).
    func lookUpTenant(_ tenant: String, reference: String) async throws {
        try await login()
        #expect(try await screen() == "tenant")
        try await type("#tenant-id", tenant)
        try await type("#external-reference", reference)
        try await click("#next")
    }

    /// From tenant-verify to the acknowledgement page, with exactly `scopes` checked.
    func continueToAcknowledgement(
        incident: String, scopes: [String], minutes: Int, approvals: String,
        packet: String, sha256: String
    ) async throws {
        try await click("#next")  // confirm tenant
        #expect(try await screen() == "incident")
        try await type("#incident-id", incident)
        try await click("#next")
        #expect(try await screen() == "incident-verify")
        try await click("#next")
        #expect(try await screen() == "scope")
        for box in try await session.findElements(css: "input[type=checkbox][name=scope]") {
            let scope = try await session.attribute("data-scope", of: box) ?? ""
            if try await session.isSelected(box) != scopes.contains(scope) { try await session.click(box) }
        }
        try await click("#next")
        #expect(try await screen() == "expiration")
        try await type("#duration-minutes", String(minutes))
        try await click("#next")
        #expect(try await screen() == "approvals")
        try await type("#approval-references", approvals)
        try await type("#packet-id", packet)
        try await type("#packet-sha256", sha256)
        try await click("#next")
        #expect(try await screen() == "acknowledgement")
    }

    static let packetSHA = "23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"

    /// The whole flow for CASE-88121 up to (not including) the submit click.
    func walkAcme(reference: String = "CASE-88121/tnt-4f9a2c") async throws {
        try await lookUpTenant("tnt-4f9a2c", reference: reference)
        #expect(try await screen() == "tenant-verify")
        try await continueToAcknowledgement(
            incident: "INC-5521", scopes: ["admins.restore", "users.reset-mfa"], minutes: 120,
            approvals: "APR-1, APR-2, APR-3", packet: "PKT-77", sha256: Self.packetSHA)
    }

    /// Ticks the acknowledgement and clicks submit.
    func acknowledgeAndSubmit() async throws {
        try await setCheckbox("#acknowledge", true)
        try await click("#submit")
    }
}
