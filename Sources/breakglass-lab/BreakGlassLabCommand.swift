import ArgumentParser
import Foundation

/// The lab: the reference environment (simulator), the benchmarks and the ledger drills. Built beside the product
/// binary `breakglass` but never part of it, so the product carries no lab command (issue 14.4).
@main
struct BreakGlassLabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakglass-lab",
        abstract: "The breakglass lab: the reference environment (simulator), benchmarks and ledger drills.",
        discussion: "Not for production: the product is the `breakglass` binary. Used by scripts/demo, scripts/test, "
            + "scripts/chaos and scripts/bench.",
        subcommands: [SimCommand.self, BenchLedgerCommand.self, BenchGateCommand.self, LedgerStressCommand.self]
    )

    /// Files the lab writes (tokens, ledgers, results) are owner-only, like the product's.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot(nil)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
