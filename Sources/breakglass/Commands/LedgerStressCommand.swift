import ArgumentParser

/// Work in progress (issue 4); the real subcommands land shortly.
struct LedgerStressCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger-stress")
    func run() async throws {}
}
