import BreakGlassWorker
import Foundation
import Testing

@Suite("Takeover command owner id")
struct TakeoverRuntimeTests {
    @Test("every takeover command run has its own owner id: worker id, pid and a random part")
    func ownerIDIsUniquePerRun() {
        let pid = ProcessInfo.processInfo.processIdentifier
        let ids = (0..<20).map { _ in TakeoverRuntime.ownerID(workerID: "worker-a") }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.hasPrefix("takeover-worker-a-\(pid)-"))
            let nonce = id.dropFirst("takeover-worker-a-\(pid)-".count)
            #expect(nonce.count == 8 && nonce.allSatisfy(\.isHexDigit), "\(id)")
        }
        #expect(TakeoverRuntime.ownerID(workerID: "w", pid: 77).hasPrefix("takeover-w-77-"))
    }

    /// Issue 14: the takeover's chromedriver got no pid file (the app was wired twice), so the reaper could not clean
    /// up after a killed `takeover resume`. Both now take their supervision from one place.
    @Test("a takeover's managed chromedriver keeps its pid file beside the ledger, as a worker's does")
    func takeoverChromeDriverHasAPidFile() async throws {
        let values = try await ConfigurationLoader(
            file: nil, environment: ["BREAKGLASS_LEDGER_PATH": "/var/lib/bg/ledger.sqlite"]
        ).load()
        let owner = TakeoverRuntime.ownerID(workerID: "worker-a", pid: 42)
        let configuration = values.chromeDriverConfiguration(
            ownerID: owner, ledgerPath: values.ledgerConfiguration().path)
        #expect(
            configuration.pidFile?.hasPrefix("/var/lib/bg/chromedriver.takeover-worker-a-42-") == true,
            "\(configuration.pidFile ?? "-")")
        guard case .managed = configuration.mode else {
            Issue.record("expected a managed chromedriver without webdriver.url")
            return
        }
        #expect(configuration.isolation == .auto)
    }
}
