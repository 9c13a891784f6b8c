import BreakGlassConsole
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Chromedriver supervisor", .serialized)
struct ConsoleSupervisorTests {
    static let binary = "/usr/bin/chromedriver"

    @Test(
        "a managed chromedriver is started, restarted after kill -9, and stopped",
        .enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func managed() async throws {
        let port = Int.random(in: 20_000...29_000)
        let supervisor = ChromeDriverSupervisor(
            configuration: .init(
                mode: .managed(binary: Self.binary, port: port),
                checkInterval: .milliseconds(100),
                restartDelay: .milliseconds(100)))
        #expect(supervisor.url == "http://127.0.0.1:\(port)")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await supervisor.run() }
            #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { await supervisor.isReady() })
            let pid = try #require(await supervisor.processIdentifier)
            kill(pid, SIGKILL)
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(20)) {
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

    @Test(
        "at start, a chromedriver left by a dead worker is killed (pid file: dead worker, driver pid, port); a live worker's is kept",
        .enabled(if: FileManager.default.isExecutableFile(atPath: binary)))
    func reapsOrphanedDriver() async throws {
        let dir = try TestEnvironment.scratchDirectory("reaper")
        func driver(_ port: Int) throws -> Process {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: Self.binary)
            child.arguments = ["--port=\(port)"]
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            return child
        }
        func ready(_ port: Int) async -> Bool {
            await ChromeDriverSupervisor(configuration: .init(mode: .external(url: "http://127.0.0.1:\(port)")))
                .isReady()
        }
        let orphanPort = Int.random(in: 30_000...31_999)
        let livePort = Int.random(in: 32_000...33_999)
        let orphan = try driver(orphanPort)
        let kept = try driver(livePort)
        defer {
            if orphan.isRunning { kill(orphan.processIdentifier, SIGKILL) }
            if kept.isRunning { kill(kept.processIdentifier, SIGKILL) }
        }
        #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { await ready(orphanPort) })
        #expect(try await TestEnvironment.waitUntil(timeout: .seconds(20)) { await ready(livePort) })
        // A worker that has exited: its pid names no process any more.
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        try "worker_pid=\(gone.processIdentifier)\ndriver_pid=\(orphan.processIdentifier)\nport=\(orphanPort)\n"
            .write(
                to: dir.appendingPathComponent("chromedriver.host-\(gone.processIdentifier).pid"), atomically: true,
                encoding: .utf8)
        // A live worker (this process) and its driver: left alone.
        try "worker_pid=\(getpid())\ndriver_pid=\(kept.processIdentifier)\nport=\(livePort)\n"
            .write(to: dir.appendingPathComponent("chromedriver.live-worker.pid"), atomically: true, encoding: .utf8)

        let port = Int.random(in: 34_000...35_999)
        let ownFile = dir.appendingPathComponent("chromedriver.host-\(getpid()).pid")
        let supervisor = ChromeDriverSupervisor(
            configuration: .init(
                mode: .managed(binary: Self.binary, port: port),
                pidFile: ownFile.path))
        try await supervisor.start()
        #expect(try await TestEnvironment.waitUntil(timeout: .seconds(10)) { !orphan.isRunning })
        #expect(kept.isRunning)
        #expect(await ready(livePort))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["chromedriver.host-\(getpid()).pid", "chromedriver.live-worker.pid"])
        let own = try String(contentsOf: ownFile, encoding: .utf8)
        let driverPID = try #require(await supervisor.processIdentifier)
        #expect(own.contains("worker_pid=\(getpid())\n"))
        #expect(own.contains("driver_pid=\(driverPID)\n"))
        #expect(own.contains("port=\(port)\n"))
        await supervisor.stop()
        #expect(!FileManager.default.fileExists(atPath: ownFile.path))
    }

    @Test("an external URL is only checked, never started")
    func external() async throws {
        let supervisor = ChromeDriverSupervisor(
            configuration: .init(
                mode: .external(url: "http://127.0.0.1:9/"),
                readyTimeout: .milliseconds(300)))
        #expect(supervisor.url == "http://127.0.0.1:9")
        await #expect(throws: WebDriverError.self) { try await supervisor.start() }
        #expect(await supervisor.starts == 0)
    }
}
