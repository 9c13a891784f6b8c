import ArgumentParser
import BreakGlassWorker
import Foundation
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker: consume approved requests, gate, drive the console, publish events.",
        discussion: """
            Stops on SIGTERM/SIGINT: stops consuming, lets in-flight requests finish within worker.drain_seconds \
            (then halts them safely with takeover records), flushes the outbox, closes browsers, exits 0.
            """
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let values = try await options.load()
        LoggingSetup.bootstrap(values)
        let logger = Logger(label: "breakglass.worker")
        try await WorkerApplication(values: values, logger: logger).run()
    }
}

enum LoggingSetup {
    /// JSON lines (or plain text) on standard error, redacted, at the configured level. Once per process.
    static func bootstrap(_ values: ConfigurationValues) {
        let level = Logger.Level(rawValue: values.string("log.level") ?? "info") ?? .info
        if values.string("log.format") == "text" {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        } else {
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        }
    }
}
