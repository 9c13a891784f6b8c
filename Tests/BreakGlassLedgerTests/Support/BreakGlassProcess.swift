import Foundation
import Testing

/// The built `breakglass-lab` binary (the lab: simulator, benchmarks, drills), re-launched by the process tests (several real processes on one ledger).
///
/// Found beside the test bundle (`.build/<triple>/debug/breakglass-lab`), or at `BREAKGLASS_BINARY`.
enum BreakGlassBinary {
    static var path: String? {
        if let explicit = ProcessInfo.processInfo.environment["BREAKGLASS_BINARY"], !explicit.isEmpty {
            return explicit
        }
        var candidates: [URL] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: executable).deletingLastPathComponent())
        }
        candidates.append(Bundle.main.bundleURL)
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for directory in candidates {
            let binary = directory.appendingPathComponent("breakglass-lab").path
            if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        }
        return nil
    }
}

extension BreakGlassBinary {
    /// Whether the lab binary has the `ledger-stress` drills;
    /// records one clear issue when it does not.
    static func hasLedgerStress(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let path else {
            Issue.record(
                "breakglass binary not found beside the test bundle (set BREAKGLASS_BINARY)",
                sourceLocation: sourceLocation)
            return false
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["ledger-stress", "claim", "--help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        let help: String
        do {
            try process.run()
            help = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
        } catch {
            Issue.record("cannot run \(path): \(error)", sourceLocation: sourceLocation)
            return false
        }
        guard help.contains("--start-file") else {
            Issue.record(
                "\(path) has no `ledger-stress` subcommand: LedgerStressCommand must be registered in BreakGlassLabCommand",
                sourceLocation: sourceLocation)
            return false
        }
        return true
    }
}

/// One child process with its output collected in files (no pipe buffer limits).
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL

    init(_ arguments: [String], in directory: URL, name: String) throws {
        guard let binary = BreakGlassBinary.path else {
            throw ChildProcessError(message: "breakglass binary not found beside the test bundle")
        }
        stdoutURL = directory.appendingPathComponent("\(name).out")
        stderrURL = directory.appendingPathComponent("\(name).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits for the exit (polling, bounded); kills the process when the deadline passes.
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill9()
                throw ChildProcessError(message: "child did not exit in time; stderr: \(stderr)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

struct ChildProcessError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
