import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging

extension TakeoverCommand {
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a halted restoration whose cause a person addressed, and run it again.",
            discussion: """
                Runs the ORIGINAL request stored in the ledger (scope, duration and tenant can never be broadened) \
                through the full gate and console flow under the same key, from the halt's saved draft when there is \
                one. An escalated halt (access may have been granted) needs --after-reconciliation: the console's \
                active grants are read first, and a grant for the key refuses the resume (close the takeover with \
                `takeover resolve` instead). At most ledger.max_resumes resumes per key. Who and why go into the \
                ledger, a sealed `resume` evidence bundle and the `resumed` event.

                Events are written to the outbox with the decision and published by this command before it exits, \
                whether or not workers run: it waits (up to 15 s) for a live worker's relay that holds the relay \
                lease, takes a lapsed or released lease itself, and keeps the order per key. When the broker cannot \
                take them in time they stay in the outbox (never lost; the next relay publishes them) and the command \
                says so, exiting 5 where it would have exited 0.

                Exit status: 0 resumed and granted; 3 resumed but halted again (a new takeover record); \
                4 resumed but the run did not finish (fenced or a database error): the key is in flight under this \
                command's claim and the `resumed` event is in the outbox (flushed as usual); run \
                `takeover recover CASE/TENANT` once the claim's lease lapses; 1 refused or failed (nothing was \
                resumed); 5 granted, but the broker could not take the events within 15 s (they stay in the outbox).
                """)

        @OptionGroup var options: ConfigOptions
        @Argument(help: "CASE/TENANT") var key: String
        @Option(name: .long, help: "Who decides (a person, not a service).") var by: String
        @Option(name: .long, help: "What was addressed and why the request may run again.") var note: String
        @Flag(name: .long, help: "For an escalated halt: resume only if the console shows no grant for the key.")
        var afterReconciliation = false
        @Flag(
            name: .long, help: "Leave the events in the outbox for the workers' relays (do not connect to the broker).")
        var noPublish = false

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("expected CASE/TENANT") }
            let (outcome, flush) = try await TakeoverCommand.perform(options, noPublish: noPublish) { pipeline in
                try await pipeline.resume(key, by: by, note: note, afterReconciliation: afterReconciliation)
            }
            print("resumed \(outcome.takeoverID) by \(by)")
            print("resume evidence: \(outcome.resumeEvidence.path)")
            if let check = outcome.grantCheckEvidence {
                print("reconciliation evidence (no grant found): \(check.path)")
            }
            let entry = outcome.entry
            switch outcome.result.result {
            case .granted:
                print("granted: confirmation \(entry?.confirmationID ?? "-")")
            case .halted:
                print(
                    "halted again: \(outcome.result.reasons.map(\.rawValue).joined(separator: ", ")) (takeover \(entry?.takeoverID ?? "-"))"
                )
            default:
                print("run ended: \(outcome.result.result.rawValue)")
            }
            TakeoverCommand.printEvents(flush)
            if outcome.result.result != .granted { throw ExitCode(3) }
            try TakeoverCommand.requirePublished(flush)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a grant back early through the console's revoke screen.",
            discussion: """
                Drives the revoke screen of the console map for the key's confirmation id, checks in IAM admin-state \
                that the session is gone, writes a sealed `revocation` evidence bundle, records the revocation in \
                the ledger and publishes `breakglass.restoration.revoked` (through the outbox, as `resume` does). \
                When it cannot be confirmed, the result is `failed` (with a takeover record in the bundle; access \
                may still be active) and the command may be run again.

                Its events are published before the command exits, as `resume` does; exit 5 when the revocation was \
                confirmed but the broker could not take the events within 15 s (they stay in the outbox).

                Exit status: 0 revoked; 2 failed (not confirmed); 1 refused; 5 revoked, events still in the outbox.
                """)

        @OptionGroup var options: ConfigOptions
        @Argument(help: "CASE/TENANT") var key: String
        @Option(name: .long, help: "Who decides (a person).") var by: String
        @Option(name: .long, help: "Why the grant is taken back.") var reason: String
        @Flag(
            name: .long, help: "Leave the events in the outbox for the workers' relays (do not connect to the broker).")
        var noPublish = false

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("expected CASE/TENANT") }
            let values = try await options.load()
            LoggingSetup.bootstrap(values)
            let runtime = TakeoverRuntime(values: values, logger: Logger(label: "breakglass.takeover"))
            let (outcome, flush): (RevocationOutcome?, TakeoverRuntime.FlushResult?) = try await runtime.withPipeline {
                pipeline, ledger in
                do {
                    let outcome = try await pipeline.revoke(key, by: by, reason: reason)
                    return (outcome, noPublish ? nil : await runtime.flushOutbox(ledger))
                } catch {
                    TakeoverCommand.report(error)
                    return (nil, nil)
                }
            }
            guard let outcome else { throw ExitCode(1) }
            print("\(outcome.result.rawValue): \(key) confirmation \(outcome.confirmationID) by \(by)")
            print("revocation evidence: \(outcome.evidence?.path ?? "NOT WRITTEN (see the log)")")
            if let takeover = outcome.takeover {
                print(
                    "not confirmed: \(takeover.reasons.map(\.rawValue).joined(separator: ", ")); access may still be active"
                )
                if let note = takeover.note { print("note: \(note)") }
            }
            TakeoverCommand.printEvents(flush)
            if outcome.result != .revoked { throw ExitCode(2) }
            try TakeoverCommand.requirePublished(flush)
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take over a key whose owner died mid-run (e.g. a killed `takeover resume`), safely.",
            discussion: """
                For a row still in flight (claimed, gate-passed, submitting) whose lease has lapsed and whose message \
                will not be delivered again. A `submitting` row is reconciled against the console's active grants and \
                never submitted again; an earlier one runs the full gate and console flow. Who and why go into a \
                sealed `recovery` evidence bundle. Refused while a live owner holds the lease.

                Its events are published before the command exits, as `resume` does.

                Exit status: 0 granted; 3 halted (a takeover record); 4 taken over but the run did not finish (the \
                key is in flight under this command's claim: run `takeover recover` again once its lease lapses); \
                1 refused; 5 granted, but the broker could not take the events within 15 s (they stay in the outbox).
                """)

        @OptionGroup var options: ConfigOptions
        @Argument(help: "CASE/TENANT") var key: String
        @Option(name: .long, help: "Who decides.") var by: String
        @Option(name: .long, help: "Why.") var note: String
        @Flag(
            name: .long, help: "Leave the events in the outbox for the workers' relays (do not connect to the broker).")
        var noPublish = false

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("expected CASE/TENANT") }
            let (outcome, flush) = try await TakeoverCommand.perform(options, noPublish: noPublish) { pipeline in
                try await pipeline.recover(key, by: by, note: note)
            }
            print(
                "took over \(key) from \(outcome.previousOwner ?? "-") (\(outcome.recovery == .reconcile ? "reconciled, nothing resubmitted" : "restarted"))"
            )
            print("recovery evidence: \(outcome.evidence.path)")
            switch outcome.result.result {
            case .granted: print("granted: confirmation \(outcome.entry?.confirmationID ?? "-")")
            case .halted:
                print(
                    "halted: \(outcome.result.reasons.map(\.rawValue).joined(separator: ", ")) (takeover \(outcome.entry?.takeoverID ?? "-"))"
                )
            default: print("run ended: \(outcome.result.result.rawValue)")
            }
            TakeoverCommand.printEvents(flush)
            if outcome.result.result != .granted { throw ExitCode(3) }
            try TakeoverCommand.requirePublished(flush)
        }
    }

    /// One line per refusal: the code and what to do about it (identifiers only).
    static func report(_ error: TakeoverError) {
        let key = error.key.map { "\($0)" } ?? "-"
        let text: String
        switch error.code {
        case .notFound: text = "no restoration for \(key)"
        case .wrongState:
            text = "\(key) is \(error.state?.rawValue ?? "?"), \(error.detail ?? "")"
        case .payloadMissing: text = "the ledger holds no original message for \(key); it cannot be run again"
        case .payloadUnreadable: text = "the stored message for \(key) cannot be read (\(error.detail ?? "?"))"
        case .requestExpired: text = "the original request's not_after has passed; a new approved request is needed"
        case .resumeLimit: text = "\(key) was resumed as often as ledger.max_resumes allows"
        case .escalated:
            text = "\(key) halted after the final click (access may have been granted): use --after-reconciliation"
        case .grantExists:
            text =
                "the console shows an active grant for \(key) (\(error.confirmationIDs.joined(separator: ", "))): "
                + "not resumed; record it with `takeover resolve` (evidence: \(error.evidencePath ?? "-"))"
        case .reconciliationFailed:
            text =
                "the console's active grants could not be read (\(error.reasons.map(\.rawValue).joined(separator: ", "))): "
                + "not resumed (evidence: \(error.evidencePath ?? "-"))"
        case .tooSoon:
            text =
                "\(key) was submitting less than the lease plus the confirmation bound ago: a frozen worker's click "
                + "could still land; wait \(error.detail ?? "?") s, then run this again (nothing was changed)"
        case .inProgress: text = "a live owner holds \(key) (\(error.detail ?? "")); wait for its decision or its lease"
        case .alreadyRevoked: text = "\(key) was already revoked"
        case .evidenceFailed:
            text = "the evidence bundle could not be written; nothing was changed (\(error.detail ?? ""))"
        case .invalidInput: text = error.detail ?? "invalid input"
        case .ledger: text = "the ledger refused: \(error.ledgerCode?.rawValue ?? "?") \(error.detail ?? "")"
        case .resumedButUnfinished, .recoveredButUnfinished:
            let what =
                error.code == .resumedButUnfinished ? "resumed (the `resumed` event is in the outbox)" : "taken over"
            text =
                "\(key) was \(what) at epoch \(error.epoch.map { String($0) } ?? "?"), but the run did not finish "
                + "(\(error.ledgerCode?.rawValue ?? error.detail ?? "?")): the key stays in flight until this command's lease "
                + "lapses; then run `breakglass takeover recover \(key) --by PERSON --note TEXT` (a `submitting` row is "
                + "reconciled, never submitted again)"
        }
        let verdict = error.code.leftInFlight ? "failed" : "refused"
        FileHandle.standardError.write(Data("\(verdict) (\(error.code.rawValue)): \(text)\n".utf8))
    }

    /// Exit status when a takeover action did not produce an outcome: 4 when the ledger already changed (the key is
    /// in flight under this command's claim: `resumedButUnfinished`, `recoveredButUnfinished`), else 1.
    static let unfinishedExitCode: Int32 = 4

    /// Reports `error`; when the ledger already changed (`leftInFlight`), still flushes the outbox (the `resumed`
    /// event is there) and returns how; `nil` for a refusal.
    /// A takeover action that runs the pipeline (resume, recover): loads the configuration, runs `action`, flushes
    /// the outbox (unless `noPublish`); on failure reports it (flushing too when the key was left in flight) and
    /// throws the matching exit code.
    static func perform<Outcome: Sendable>(
        _ options: ConfigOptions, noPublish: Bool, _ action: (RestorationPipeline) async throws -> Outcome
    ) async throws -> (Outcome, TakeoverRuntime.FlushResult?) {
        let values = try await options.load()
        LoggingSetup.bootstrap(values)
        let runtime = TakeoverRuntime(values: values, logger: Logger(label: "breakglass.takeover"))
        let (outcome, flush): (Outcome?, TakeoverRuntime.FlushResult?) = try await runtime.withPipeline {
            pipeline, ledger in
            do {
                let outcome = try await action(pipeline)
                return (outcome, noPublish ? nil : await runtime.flushOutbox(ledger))
            } catch {
                return (nil, await reportFailure(error, runtime: runtime, ledger: ledger, noPublish: noPublish))
            }
        }
        guard let outcome else { throw failureExit(flush) }
        return (outcome, flush)
    }

    static func reportFailure(
        _ error: any Error, runtime: TakeoverRuntime, ledger: any Ledger, noPublish: Bool
    ) async -> TakeoverRuntime.FlushResult? {
        report(error)
        guard let error = error as? TakeoverError, error.code.leftInFlight else { return nil }
        let flush = noPublish ? nil : await runtime.flushOutbox(ledger)
        printEvents(flush)
        return flush ?? .leftForRelay
    }

    /// `ExitCode(4)` after an unfinished action (`reportFailure` returned a flush result), else `ExitCode(1)`.
    static func failureExit(_ flush: TakeoverRuntime.FlushResult?) -> ExitCode {
        flush == nil ? ExitCode(1) : ExitCode(unfinishedExitCode)
    }

    static func report(_ error: any Error) {
        if let error = error as? TakeoverError { return report(error) }
        FileHandle.standardError.write(Data("failed: \(error)\n".utf8))
    }

    static func printEvents(_ flush: TakeoverRuntime.FlushResult?) {
        switch flush {
        case .published?: print("events: published")
        case .leftForRelay?:
            print(
                "events: NOT published: the broker could not take them within 15 s; they stay in the outbox (never "
                    + "lost) and the next worker's relay publishes them")
        case nil: print("events: in the outbox (--no-publish); a worker's relay publishes them")
        }
    }

    /// Exit status of an action that succeeded but whose events the broker could not take before the command ended.
    static let eventsPendingExitCode: Int32 = 5

    /// Throws `ExitCode(5)` when the flush left events in the outbox (only where the action itself would exit 0).
    static func requirePublished(_ flush: TakeoverRuntime.FlushResult?) throws {
        if flush == .leftForRelay { throw ExitCode(eventsPendingExitCode) }
    }
}
