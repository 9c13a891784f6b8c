@testable import BreakGlassConsole
import BreakGlassCore
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The chromedriver reaper's pid-file format and decision, alone (the integration test
/// `ConsoleSupervisorTests` kills a real orphaned chromedriver).
@Suite("Stale chromedriver reaper (pure logic)")
struct StaleDriverReaperTests {
    typealias Reaper = StaleDriverReaper

    @Test("the pid file records the worker's pid and start time, the driver's pid and its port, and reads back")
    func roundTrip() throws {
        let record = Reaper.Record(workerPID: 4242, workerStart: 987_654, driverPID: 4343, port: 9515)
        #expect(record.text == "worker_pid=4242\nworker_start=987654\ndriver_pid=4343\nport=9515\n")
        #expect(Reaper.Record(parsing: record.text) == record)
        let noStart = Reaper.Record(workerPID: 4242, workerStart: nil, driverPID: 4343, port: 9515)
        #expect(Reaper.Record(parsing: noStart.text) == noStart)
    }

    @Test(
        "unreadable pid files (the old one-line format, garbage, missing or bad fields) parse as nil",
        arguments: [
            "4343\n", "", "garbage", "worker_pid=4242\ndriver_pid=4343\n", "worker_pid=4242\nport=9515\n",
            "worker_pid=1\ndriver_pid=4343\nport=9515\n", "worker_pid=4242\ndriver_pid=4343\nport=70000\n",
            "worker_pid=4242\ndriver_pid=4343\nport=9515\nworker_pid=7\n",
            "worker_pid=4242\nworker_start=x\ndriver_pid=4343\nport=9515\n",
        ])
    func unreadable(_ text: String) {
        #expect(Reaper.Record(parsing: text) == nil)
    }

    @Test("only a dead worker's driver whose command line names chromedriver and its port is killed")
    func decisions() {
        let record = Reaper.Record(workerPID: 4242, workerStart: nil, driverPID: 4343, port: 9515)
        let driver = ["/usr/bin/chromedriver", "--port=9515"]
        #expect(Reaper.decide(record, workerAlive: true, driverCommandLine: driver) == .keep)
        #expect(Reaper.decide(record, workerAlive: false, driverCommandLine: driver) == .kill(4343))
        // The pid was reused: another worker's driver on another port, another program, nothing at all.
        #expect(
            Reaper.decide(record, workerAlive: false, driverCommandLine: ["/usr/bin/chromedriver", "--port=9516"])
                == .remove)
        #expect(
            Reaper.decide(
                record, workerAlive: false, driverCommandLine: ["/usr/bin/python3", "chromedriver", "--port=9515"])
                == .remove)
        #expect(
            Reaper.decide(record, workerAlive: false, driverCommandLine: ["/usr/bin/vim", "--port=9515"]) == .remove)
        #expect(Reaper.decide(record, workerAlive: false, driverCommandLine: []) == .remove)
        #expect(Reaper.decide(nil, workerAlive: false, driverCommandLine: driver) == .remove)
        #expect(Reaper.isDriver(["chromedriver", "--verbose", "--port=9515"], port: 9515))
        #expect(!Reaper.isDriver(["chromedriver", "--port=95150"], port: 9515))
    }

    @Test("liveness: this process is alive with its own start time, not with another; a reaped child is dead")
    func liveness() throws {
        let me = getpid()
        let start = try #require(Reaper.startTime(of: me))
        #expect(Reaper.isAlive(me, start: start))
        #expect(Reaper.isAlive(me, start: nil))
        #expect(!Reaper.isAlive(me, start: start + 1))  // a reused pid: same number, another process
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        #expect(!Reaper.isAlive(child.processIdentifier, start: nil))
        #expect(Reaper.arguments(of: me).isEmpty == false)
    }

    @Test("reap leaves a live worker's file, removes unreadable and dead-driver files, and kills nothing else")
    func reapDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reaper-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let me = getpid()
        let live = Reaper.Record(workerPID: me, workerStart: Reaper.startTime(of: me), driverPID: me, port: 1)
        try live.text.write(to: dir.appendingPathComponent("chromedriver.live.pid"), atomically: true, encoding: .utf8)
        try "4343\n".write(
            to: dir.appendingPathComponent("chromedriver.host-4343.pid"), atomically: true, encoding: .utf8)
        // A dead worker whose "driver" pid is this test process (not a chromedriver): the file goes, nothing is killed.
        let dead = Reaper.Record(
            workerPID: me, workerStart: (Reaper.startTime(of: me) ?? 0) + 1, driverPID: me, port: 9515)
        try dead.text.write(to: dir.appendingPathComponent("chromedriver.dead.pid"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("other.pid"), atomically: true, encoding: .utf8)

        let killed = Reaper(pidFile: dir.appendingPathComponent("chromedriver.me.pid")).reap()
        #expect(killed == 0)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(left == ["chromedriver.live.pid", "other.pid"])
    }
}
