import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Where the real parts for integration tests are, as `./scripts/test` passes them.
///
/// - `BREAKGLASS_TEST_AMQP_URL`: `amqp://guest:guest@127.0.0.1:PORT/` of a private RabbitMQ node.
/// - `BREAKGLASS_TEST_RABBITMQ_DIR`: the node's folder, for `scripts/rabbitmq-node stop|start|restart|pid DIR`.
/// - `BREAKGLASS_TEST_RABBITMQ_NODE_SCRIPT`: absolute path of `scripts/rabbitmq-node`.
/// - `BREAKGLASS_TEST_WEBDRIVER_URL`: `http://127.0.0.1:PORT` of a running chromedriver.
/// - `BREAKGLASS_TEST_CHROMIUM`: the Chromium binary for chromedriver's `goog:chromeOptions.binary`.
/// - `BREAKGLASS_TEST_REQUIRE_SERVICES=1`: set by `./scripts/test`; a missing part then fails the test
///   instead of skipping it.
/// - `BREAKGLASS_TEST_TMP`: a scratch folder that `./scripts/test` removes afterwards.
enum TestEnvironment {
    static let environment = ProcessInfo.processInfo.environment

    static var requireServices: Bool { environment["BREAKGLASS_TEST_REQUIRE_SERVICES"] == "1" }

    static var amqpURL: String? { environment["BREAKGLASS_TEST_AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var rabbitMQDir: String? { environment["BREAKGLASS_TEST_RABBITMQ_DIR"] }
    static var rabbitMQNodeScript: String? { environment["BREAKGLASS_TEST_RABBITMQ_NODE_SCRIPT"] }
    static var webDriverURL: String? { environment["BREAKGLASS_TEST_WEBDRIVER_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    static var chromiumBinary: String { environment["BREAKGLASS_TEST_CHROMIUM"] ?? "/usr/bin/chromium" }

    /// Whether a test needing RabbitMQ runs. `./scripts/test` sets everything; a plain `swift test` skips
    /// with a hint, unless BREAKGLASS_TEST_REQUIRE_SERVICES=1, where a missing broker is a failure.
    static var hasRabbitMQ: Bool {
        if amqpURL != nil { return true }
        if requireServices {
            Issue.record("BREAKGLASS_TEST_AMQP_URL is not set but BREAKGLASS_TEST_REQUIRE_SERVICES=1")
            return true  // let the test run and fail on the missing URL
        }
        return false
    }

    static var hasWebDriver: Bool {
        if webDriverURL != nil { return true }
        if requireServices {
            Issue.record("BREAKGLASS_TEST_WEBDRIVER_URL is not set but BREAKGLASS_TEST_REQUIRE_SERVICES=1")
            return true
        }
        return false
    }

    static let skipHint = "needs RabbitMQ/Chromium: run ./scripts/test (it starts a private broker and chromedriver)"

    /// A fresh scratch directory for one test.
    static func scratchDirectory(_ name: String = "t") throws -> URL {
        let base =
            environment["BREAKGLASS_TEST_TMP"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        let url = base.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a program to completion; its combined output. Throws when it exits non-zero.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestEnvironmentError.commandFailed(
                "\(executable) \(arguments.joined(separator: " ")): \(output)", Int32(process.terminationStatus))
        }
        return output
    }

    /// Runs `scripts/rabbitmq-node <command> <dir>` for the test broker (stop, start, restart, kill, pid).
    ///
    /// Output goes through a file, not a pipe, and the command runs through `system()`: a broker start leaves
    /// daemons (epmd) that would inherit a pipe and keep `readDataToEndOfFile`/`waitUntilExit` waiting forever.
    @discardableResult
    static func rabbitMQNode(_ command: String) throws -> String {
        guard let script = rabbitMQNodeScript, let dir = rabbitMQDir else {
            throw TestEnvironmentError.missing("BREAKGLASS_TEST_RABBITMQ_NODE_SCRIPT / BREAKGLASS_TEST_RABBITMQ_DIR")
        }
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rabbitmq-node-\(UUID().uuidString).out")
        defer { try? FileManager.default.removeItem(at: output) }
        let quoted = [script, command, dir, ">", output.path].map { $0 == ">" ? $0 : "'" + $0 + "'" }.joined(
            separator: " ")
        let status = system("\(quoted) </dev/null 2>&1")
        let exit = status == -1 ? -1 : (status >> 8) & 0xff
        guard exit == 0 else {
            throw TestEnvironmentError.commandFailed("rabbitmq-node \(command)", exit)
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls `condition` until it holds or `timeout` passes. The deadline is a bound, never a synchronisation.
    static func waitUntil(
        timeout: Duration = .seconds(30),
        poll: Duration = .milliseconds(50),
        _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while clock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: poll)
        }
        return try await condition()
    }
}

enum TestEnvironmentError: Error, CustomStringConvertible {
    case missing(String)
    case commandFailed(String, Int32)

    var description: String {
        switch self {
        case .missing(let what): "test environment is missing \(what)"
        case .commandFailed(let command, let status): "\(command) exited with \(status)"
        }
    }
}
