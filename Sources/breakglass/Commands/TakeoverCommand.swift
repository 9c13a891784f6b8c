import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging

/// `breakglass takeover list|show|resolve|resume|revoke`: the halted requests waiting for a person, and the
/// grants a person takes back.
///
/// `resolve` records a human decision (who, what, when) and closes the takeover; it never grants. `resume` runs a
/// halted request again (the original message, never broadened) through the gate and the console; `revoke` takes a
/// grant back through the console's revoke screen. Both take the same configuration as `breakglass run`.
struct TakeoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "takeover",
        abstract: "Halted restorations waiting for a person.",
        subcommands: [List.self, Show.self, Resolve.self, Resume.self, Revoke.self, Recover.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List takeovers (open ones unless --all).")

        @OptionGroup var location: LedgerCommand.Location
        @Flag(name: .long, help: "Include resolved takeovers.") var all = false
        @Option(name: .long, help: "At most this many.") var limit: Int = 50
        @Flag(name: .long, help: "One JSON object per line instead of a table.") var json = false

        func run() async throws {
            let ledger = try await location.open()
            let takeovers = try await ledger.takeovers(openOnly: !all, limit: limit)
            if json {
                for takeover in takeovers {
                    LedgerFormat.printJSON([
                        "id": takeover.id, "case_id": takeover.key.caseID, "tenant_id": takeover.key.tenantID,
                        "stage": takeover.record.stage.rawValue, "escalate": takeover.record.escalate,
                        "reasons": takeover.record.reasons.map(\.rawValue), "resolution": takeover.resolution?.rawValue,
                        "created_at": LedgerFormat.time(takeover.createdAt),
                    ])
                }
                return
            }
            print(
                LedgerFormat.table(
                    ["TAKEOVER", "STAGE", "ESC", "REASONS", "RESOLUTION", "CREATED"],
                    takeovers.map { takeover in
                        [
                            takeover.id, takeover.record.stage.rawValue, takeover.record.escalate ? "yes" : "no",
                            takeover.record.reasons.map(\.rawValue).joined(separator: ","),
                            takeover.resolution?.rawValue ?? "OPEN", LedgerFormat.time(takeover.createdAt),
                        ]
                    }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a takeover record (CASE/TENANT for the latest, or CASE/TENANT#n).")

        @OptionGroup var location: LedgerCommand.Location
        @Argument(help: "CASE/TENANT or CASE/TENANT#n") var id: String

        func run() async throws {
            let ledger = try await location.open()
            let takeover = try await TakeoverCommand.find(id, in: ledger)
            print(LedgerFormat.describe(takeover))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a halted restoration by a human decision (it grants nothing).")

        @OptionGroup var location: LedgerCommand.Location
        @Argument(help: "CASE/TENANT") var key: String
        @Option(name: .long, help: "Who decides.") var by: String
        @Option(name: .long, help: "What was decided and why.") var note: String

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("expected CASE/TENANT") }
            guard !by.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--by is required") }
            let ledger = try await location.open()
            do {
                let decision = try await ledger.resolve(key, by: by, note: note)
                print("resolved \(key) by \(by) at \(LedgerFormat.time(decision.decidedAt))")
            } catch let error as LedgerError {
                print("refused: \(error.code.rawValue)\(error.state.map { " (state \($0.rawValue))" } ?? "")")
                throw ExitCode(1)
            }
        }
    }

    static func find(_ id: String, in ledger: any Ledger) async throws -> TakeoverEntry {
        if id.contains("#") {
            guard let takeover = try await ledger.takeover(id: id) else {
                throw CommandFailure(.notFound, "no takeover \(id)")
            }
            return takeover
        }
        guard let key = RestorationKey(parsing: id) else {
            throw ValidationError("expected CASE/TENANT or CASE/TENANT#n")
        }
        guard let takeover = try await ledger.takeovers(for: key, limit: 1).first else {
            throw CommandFailure(.notFound, "no takeover for \(key)")
        }
        return takeover
    }
}
