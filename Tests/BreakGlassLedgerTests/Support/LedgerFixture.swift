import BreakGlassCore
import BreakGlassLedger
import Foundation
import Synchronization
import Testing

/// A time source the tests move by hand (lease expiry without sleeping).
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A fresh ledger file per test.
struct LedgerFixture {
    let directory: URL
    let clock = ManualClock()

    init(_ name: String = "ledger") throws {
        let base =
            ProcessInfo.processInfo.environment["BREAKGLASS_TEST_TMP"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        directory = base.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    var path: String { directory.appendingPathComponent("ledger.sqlite").path }

    /// Another `Ledger` on the same file = another connection set, as a second process would have.
    func open(lease: Duration = .seconds(60), maximumResumes: Int = 3) throws -> SQLiteLedger {
        var configuration = SQLiteLedger.Configuration(path: path)
        configuration.leaseDuration = lease
        configuration.maximumResumes = maximumResumes
        let clock = self.clock
        configuration.clock = { clock.now }
        return try SQLiteLedger(configuration: configuration)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

func key(_ index: Int, tenant: String = "tnt-1") -> RestorationKey {
    RestorationKey(caseID: "CASE-\(index)", tenantID: tenant)
}

func event(_ id: String, _ key: RestorationKey, type: String = "breakglass.restoration.outcome") -> OutboxMessage {
    OutboxMessage(eventID: id, routingKey: type, body: Data("{\"id\":\"\(id)\"}".utf8), key: key)
}

extension ClaimOutcome {
    func requireClaim(sourceLocation: SourceLocation = #_sourceLocation) throws -> Claim {
        try #require(claim, "expected a claim, got \(self)", sourceLocation: sourceLocation)
    }
}

/// Polls `condition` until it holds or `timeout` passes (no sleeps as synchronisation).
func eventually(
    timeout: Duration = .seconds(10), _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting for: \(what)", sourceLocation: sourceLocation)
    throw CancellationError()
}
