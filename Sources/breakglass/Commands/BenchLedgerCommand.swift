import ArgumentParser

/// Work in progress (issue 4); the real subcommands land shortly.
struct BenchLedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench-ledger")
    func run() async throws {}
}
