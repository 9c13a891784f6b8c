import ArgumentParser

/// Work in progress (issue 4); the real subcommands land shortly.
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ledger")
    func run() async throws {}
}
