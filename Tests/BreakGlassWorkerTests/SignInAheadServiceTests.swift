import BreakGlassConsole
import BreakGlassCore
import BreakGlassEvidence
import Foundation
import Logging
import ServiceLifecycle
import Testing

@testable import BreakGlassWorker

@Suite("Sign-in ahead service")
struct SignInAheadServiceTests {
    /// Stop 27's CI: the pool closing before the sign-in ahead service's own turn ended its `releases` stream; the
    /// service returned early, `ServiceGroup` called that "a service has finished unexpectedly" and the worker exited 1
    /// on SIGTERM. Here the pool's closer stops first (it is later in the group, as in the worker's first order) and,
    /// like the worker's closer deleting idle browser sessions, takes its time: until the service returns, or 0.5 s.
    @Test("the pool closing first at graceful shutdown does not fail the group")
    func poolClosedFirst() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sign-in-ahead-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var quiet = Logger(label: "test.sign-in-ahead")
        quiet.logLevel = .critical
        // Nothing listens there: no session is ever opened, so the service only waits on `releases`.
        let pool = BrowserPool(client: WebDriverClient(configuration: .init(url: "http://127.0.0.1:9")), logger: quiet)
        let map = try ConsoleMap.load(
            file: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("config/consoles/reference.yaml"))
        let (key, _) = EvidenceKey.generate(keyID: "sign-in-ahead-test")
        let driver = ConsoleDriver(
            configuration: .init(
                baseURL: "http://127.0.0.1:9", map: map, username: "operator", password: Secret("not-used"),
                workerID: "w"),
            pool: pool, evidence: try EvidenceStore(root: dir, key: key), logger: quiet)
        let (returned, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: Watched(inner: SignInAheadService(driver: driver, logger: quiet), returned: signal)),
                    .init(service: SlowCloser(pool: pool, serviceReturned: returned)),
                ], logger: quiet))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    private struct Watched: Service {
        let inner: SignInAheadService
        let returned: AsyncStream<Void>.Continuation

        func run() async {
            await inner.run()
            returned.yield()
        }
    }

    private struct SlowCloser: Service {
        let pool: BrowserPool
        let serviceReturned: AsyncStream<Void>

        func run() async {
            try? await gracefulShutdown()
            await pool.close()
            await withTaskGroup(of: Void.self) { wait in
                wait.addTask { for await _ in serviceReturned { return } }
                wait.addTask { try? await Task.sleep(for: .milliseconds(500)) }
                await wait.next()
                wait.cancelAll()
            }
        }
    }
}
