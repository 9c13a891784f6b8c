import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Cleans up after a worker that died without stopping its chromedriver (SIGKILL, OOM kill).
///
/// Each worker that manages a driver keeps a pid file `chromedriver.<name>.pid` in one directory (beside the ledger)
/// recording ITS OWN pid (and start time), the driver's pid and the driver's port. At start, every
/// `chromedriver.*.pid` in that directory is looked at, whatever worker id wrote it (the default id `host-<pid>`
/// changes at every start):
/// - its worker still runs (same pid, same start time) → left alone;
/// - its worker is gone and the recorded driver pid runs a command line naming `chromedriver` AND `--port=<port>`
///   → that driver and every process under it (its Chromium browsers) are killed, and the file removed;
/// - its worker is gone and the driver is gone (or the pid now belongs to something else) → the file is removed,
///   nothing is killed;
/// - unreadable (an older one-line format, garbage) → removed, nothing is killed.
///
/// The decision is a pure function (`decide`), tested alone; `reap` does the /proc reads and the kills.
struct StaleDriverReaper {
    /// This worker's pid file (the directory is scanned for the others).
    let pidFile: URL

    /// What one pid file says.
    struct Record: Sendable, Hashable {
        var workerPID: pid_t
        /// The worker's start time in clock ticks since boot (/proc/<pid>/stat field 22), so that a reused worker
        /// pid is not taken for the worker; nil when it could not be read.
        var workerStart: UInt64?
        var driverPID: pid_t
        var port: Int

        /// `worker_pid=…`, `worker_start=…`, `driver_pid=…`, `port=…`, one per line.
        var text: String {
            var lines = ["worker_pid=\(workerPID)"]
            if let workerStart { lines.append("worker_start=\(workerStart)") }
            lines += ["driver_pid=\(driverPID)", "port=\(port)"]
            return lines.joined(separator: "\n") + "\n"
        }

        /// Parses `text`; nil unless worker_pid, driver_pid (both > 1) and port (1...65535) are there.
        init?(parsing text: String) {
            var fields: [String: String] = [:]
            for line in text.split(whereSeparator: \.isNewline) {
                let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, fields[parts[0]] == nil else { return nil }
                fields[parts[0]] = parts[1]
            }
            guard let worker = fields["worker_pid"].flatMap({ pid_t($0) }), worker > 1,
                let driver = fields["driver_pid"].flatMap({ pid_t($0) }), driver > 1,
                let port = fields["port"].flatMap({ Int($0) }), (1...65_535).contains(port)
            else { return nil }
            var start: UInt64?
            if let value = fields["worker_start"] {
                guard let parsed = UInt64(value) else { return nil }
                start = parsed
            }
            self.init(workerPID: worker, workerStart: start, driverPID: driver, port: port)
        }

        init(workerPID: pid_t, workerStart: UInt64?, driverPID: pid_t, port: Int) {
            self.workerPID = workerPID
            self.workerStart = workerStart
            self.driverPID = driverPID
            self.port = port
        }
    }

    enum Decision: Sendable, Hashable {
        /// The worker runs: its driver is its own business.
        case keep
        /// Stale file, nothing to kill.
        case remove
        /// Stale file and a driver left behind: kill it (with its process tree), then remove the file.
        case kill(pid_t)
    }

    /// The decision for one pid file. `workerAlive`: whether the recorded worker pid runs with the recorded start
    /// time; `driverCommandLine`: the recorded driver pid's arguments (empty when it does not run).
    static func decide(_ record: Record?, workerAlive: Bool, driverCommandLine: [String]) -> Decision {
        guard let record else { return .remove }
        if workerAlive { return .keep }
        return isDriver(driverCommandLine, port: record.port) ? .kill(record.driverPID) : .remove
    }

    /// A chromedriver listening on `port`: the program is named `chromedriver` and one argument is `--port=<port>`.
    static func isDriver(_ arguments: [String], port: Int) -> Bool {
        guard let program = arguments.first, program.split(separator: "/").last?.contains("chromedriver") == true
        else { return false }
        return arguments.dropFirst().contains("--port=\(port)")
    }

    /// Reaps every stale `chromedriver.*.pid` in this pid file's directory. Returns how many processes were killed.
    @discardableResult
    func reap() -> Int {
        let directory = pidFile.deletingLastPathComponent()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var killed = 0
        for name in names where name.hasPrefix("chromedriver.") && name.hasSuffix(".pid") {
            let file = directory.appendingPathComponent(name)
            let record = (try? String(contentsOf: file, encoding: .utf8)).flatMap(Record.init(parsing:))
            let alive = record.map { Self.isAlive($0.workerPID, start: $0.workerStart) } ?? false
            let arguments = record.map { Self.arguments(of: $0.driverPID) } ?? []
            switch Self.decide(record, workerAlive: alive, driverCommandLine: arguments) {
            case .keep:
                continue
            case .remove:
                try? FileManager.default.removeItem(at: file)
            case .kill(let pid):
                let victims = [pid] + Self.descendants(of: pid)
                for victim in victims { kill(victim, SIGKILL) }
                killed += victims.count
                try? FileManager.default.removeItem(at: file)
            }
        }
        return killed
    }

    /// Records this process as the worker of the running driver `pid` on `port` (atomically).
    func record(driver pid: pid_t, port: Int) {
        let me = getpid()
        let record = Record(workerPID: me, workerStart: Self.startTime(of: me), driverPID: pid, port: port)
        try? Data(record.text.utf8).write(to: pidFile, options: .atomic)
    }

    func clear() {
        try? FileManager.default.removeItem(at: pidFile)
    }

    /// Whether `pid` runs, and (when `start` is given) started at that time (not a reused pid).
    static func isAlive(_ pid: pid_t, start: UInt64?) -> Bool {
        guard pid > 1, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let start else { return true }
        guard let actual = startTime(of: pid) else { return false }
        return actual == start
    }

    /// /proc/<pid>/stat field 22 (start time in clock ticks after boot).
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm) ": field 3 (state) is index 0, so field 22 is index 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The arguments of `pid` from /proc/<pid>/cmdline; empty when it does not run.
    static func arguments(of pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every process below `pid` (children, grandchildren, ...), from the parent ids in /proc/*/stat.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let child = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // After "pid (comm) ": state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = pid_t(fields[1]) else { continue }
            children[parent, default: []].append(child)
        }
        var result: [pid_t] = []
        var queue = children[pid] ?? []
        while let next = queue.popLast() {
            result.append(next)
            queue.append(contentsOf: children[next] ?? [])
        }
        return result
    }
}
