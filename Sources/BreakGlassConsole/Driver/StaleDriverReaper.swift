import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Cleans up after a worker that died without stopping its chromedriver (SIGKILL, OOM kill): the managed driver's
/// pid is kept in a file; at the next start, a driver still running under that pid (checked by its command line)
/// is killed together with every process under it (its Chromium browsers), which would otherwise live on.
struct StaleDriverReaper {
    let pidFile: URL

    /// Kills the driver recorded in the pid file, with its process tree, if it still runs. Returns how many
    /// processes were killed.
    @discardableResult
    func reap() -> Int {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
              Self.commandLine(of: pid).contains("chromedriver") else { return 0 }
        let victims = [pid] + Self.descendants(of: pid)
        for victim in victims { kill(victim, SIGKILL) }
        try? FileManager.default.removeItem(at: pidFile)
        return victims.count
    }

    /// Records the running driver's pid (atomically).
    func record(_ pid: pid_t) {
        try? Data("\(pid)\n".utf8).write(to: pidFile, options: .atomic)
    }

    func clear() {
        try? FileManager.default.removeItem(at: pidFile)
    }

    static func commandLine(of pid: pid_t) -> String {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return "" }
        return String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// Every process below `pid` (children, grandchildren, ...), from the parent ids in /proc/*/stat.
    static func descendants(of pid: pid_t) -> [pid_t] {
        var children: [pid_t: [pid_t]] = [:]
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let child = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
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
