import ArgumentParser
import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassLiveSources
import BreakGlassWorker
import Foundation
import Glibc
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
    @Flag(name: .long, help: .hidden) var enableCrashPoints = false

    func run() async throws {
        let values = try await options.load()
        LoggingSetup.bootstrap(values)
        let logger = Logger(label: "breakglass.worker")
        try CrashPoints.armFromEnvironment(explicitlyEnabled: enableCrashPoints, logger: logger)
        do {
            try await WorkerApplication(values: values, logger: logger).run()
        } catch let error as LedgerError {
            // A person must act (or the supervisor restart it once the cause is gone): error level, with the cause.
            logger.error(
                "worker cannot run: the ledger failed",
                metadata: [
                    "breakglass.error": "\(error.code.rawValue)", "breakglass.detail": "\(error.detail ?? "-")",
                    "breakglass.ledger.location": "\(values.ledgerDescription)",
                ])
            throw Self.failure(error, values)
        } catch {
            let failure = Self.failure(error, values)
            logger.error("worker cannot run", metadata: ["breakglass.error": "\(failure.description)"])
            throw failure
        }
    }
}

extension RunCommand {
    /// What stopped the worker at start, as one line naming the key, the path or host:port and the cause.
    static func failure(_ error: any Error, _ values: ConfigurationValues) -> CommandFailure {
        switch error {
        case let error as CommandFailure:
            return error
        case let error as LedgerError:
            return CommandFailure(
                .failed,
                "the ledger \(values.ledgerDescription) (\(values[Config.ledgerURL] == nil ? "ledger.path" : "ledger.url")) "
                    + "cannot be used: "
                    + "\(error.code.rawValue): \(error.detail ?? "no detail")")
        case let error as ConsoleMapError:
            let issues = error.issues.prefix(5).map(\.description).joined(separator: "; ")
            return CommandFailure(
                .configuration,
                "console map \(error.file ?? values[Config.consoleMapFile]) "
                    + "(console.map_file): \(error.description): \(issues)")
        case let error as ConfigurationError:
            return CommandFailure(.configuration, error.description)
        case let error as LiveSourcesError:
            return CommandFailure(.configuration, "\(error.description): \(error.detail)")
        default:
            let text = String(describing: error)
            if text.contains("Address already in use") {
                return CommandFailure(
                    .failed,
                    "the ops server cannot listen on \(values[Config.opsHost]):"
                        + "\(values[Config.opsPort]) (ops.host, ops.port): address already in use "
                        + "(another worker on this host? each needs its own ops.port)")
            }
            return CommandFailure(.failed, text)
        }
    }
}

enum LoggingSetup {
    /// JSON lines (or plain text) on standard error, redacted, at the configured level. Once per process.
    static func bootstrap(_ values: ConfigurationValues) {
        let level = Logger.Level(rawValue: values[Config.logLevel]) ?? .info
        if values[Config.logFormat] == "text" {
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

/// `BREAKGLASS_CRASH_AT=<point>[@<n>]` (chaos runs, issue 9): armed in debug builds, or in any build with
/// `run --enable-crash-points`; otherwise the worker refuses to start rather than silently ignore it.
///
/// `BREAKGLASS_FREEZE_AT=<point>[@<n>]` arms the same points, but the process stops itself there (SIGSTOP) instead of
/// dying: a worker frozen at an exact place (issue 15.2: frozen after `submitting`, before the click), thawed later
/// with SIGCONT by the test that froze it. Same rules as crash points; the two cannot be armed together.
enum CrashPoints {
    static let freezeVariable = "BREAKGLASS_FREEZE_AT"
    static let signalVariable = "BREAKGLASS_CRASH_SIGNAL"

    static func armFromEnvironment(explicitlyEnabled: Bool, logger: Logger) throws {
        if let text = ProcessInfo.processInfo.environment[freezeVariable], !text.isEmpty {
            guard explicitlyEnabled || _isDebugAssertConfiguration() else {
                throw ValidationError(
                    "\(freezeVariable) is set but crash points are off in this build (pass --enable-crash-points)")
            }
            guard let arming = CrashPoint.Arming(parsing: text) else {
                throw ValidationError("\(freezeVariable): expected <point>[@<n>]")
            }
            logger.warning("freeze point armed", metadata: ["breakglass.freeze_point": "\(arming.point.rawValue)"])
            CrashPoint.arm(arming) { point in
                let line = "breakglass: freeze point \(point.rawValue) reached; SIGSTOP\n"
                line.withCString { _ = write(2, $0, strlen($0)) }
                // Thread-directed (tgkill): this thread takes the stop on its way out of the call, so the process
                // is stopped exactly here. A process-directed kill(getpid(), SIGSTOP) could be taken by another
                // thread while this one ran on for a few steps (CI saw it pass the last pre-click check first).
                raise(SIGSTOP)
            }
            return
        }
        guard let text = ProcessInfo.processInfo.environment[CrashPoint.environmentVariable], !text.isEmpty else {
            return
        }
        // Debug builds (tests, chaos runs) arm them without the flag.
        guard explicitlyEnabled || _isDebugAssertConfiguration() else {
            throw ValidationError(
                "\(CrashPoint.environmentVariable) is set but crash points are off in this build (pass --enable-crash-points)"
            )
        }
        guard let arming = CrashPoint.Arming(parsing: text) else {
            let names = CrashPoint.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError(
                "\(CrashPoint.environmentVariable): expected <point>[@<n>] with a point among \(names)")
        }
        logger.warning(
            "crash point armed",
            metadata: ["breakglass.crash_point": "\(arming.point.rawValue)", "breakglass.crash_hit": "\(arming.hit)"])
        // BREAKGLASS_CRASH_SIGNAL=abort: die by SIGABRT instead (a crash that would dump core: the chaos suite checks
        // that none is written, since a core holds the console password and the source token in the clear).
        let abort = ProcessInfo.processInfo.environment[signalVariable] == "abort"
        CrashPoint.arm(arming) { point in
            let line = "breakglass: crash point \(point.rawValue) reached; \(abort ? "SIGABRT" : "SIGKILL")\n"
            line.withCString { _ = write(2, $0, strlen($0)) }
            if abort {
                // abort(3): unblocks SIGABRT on this thread (a dispatch worker thread blocks it, so raise() left it
                // pending and the SIGKILL below won) and dies by it with the default action.
                signal(SIGABRT, SIG_DFL)
                Glibc.abort()
            } else {
                // Thread-directed, like the freeze: this thread never runs another step (SIGKILL cannot be blocked).
                raise(SIGKILL)
            }
        }
    }
}
