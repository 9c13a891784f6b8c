import ArgumentParser

/// Work in progress (issue 4); the real subcommands land shortly.
struct TakeoverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "takeover")
    func run() async throws {}
}
