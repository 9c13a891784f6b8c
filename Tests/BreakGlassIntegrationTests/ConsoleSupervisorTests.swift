import BreakGlassConsole
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Chromedriver supervisor", .serialized)
struct ConsoleSupervisorTests {
    static let binary = "/usr/bin/chromedriver"

    @Test("a managed chromedriver is started, restarted after kill -9, and stopped",
          .enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func managed() async throws {
        let port = Int.random(in: 20_000...29_000)
        let supervisor = ChromeDriverSupervisor(configuration: .init(mode: .managed(binary: Self.binary, port: port),
                                                                     checkInterval: .milliseconds(100),
                                                                     restartDelay: .milliseconds(100)))
        #expect(supervisor.url == "http://127.0.0.1:\(port)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { await supervisor.isReady() })
            let pid = try #require(await supervisor.processIdentifier)
            kill(pid, SIGKILL)
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
                let starts = await supervisor.starts
                let ready = await supervisor.isReady()
                return starts == 2 && ready
            })
            #expect(await supervisor.processIdentifier != pid)
            group.cancelAll()
        }
        #expect(await supervisor.processIdentifier == nil)
        #expect(try await TestEnvironment.waitUntil(timeout: .seconds(10)) { await !supervisor.isReady() })
    }

    @Test("an external URL is only checked, never started")
    func external() async throws {
        let supervisor = ChromeDriverSupervisor(configuration: .init(mode: .external(url: "http://127.0.0.1:9/"),
                                                                     readyTimeout: .milliseconds(300)))
        #expect(supervisor.url == "http://127.0.0.1:9")
        await #expect(throws: WebDriverError.self) { try await supervisor.start() }
        #expect(await supervisor.starts == 0)
    }
}
