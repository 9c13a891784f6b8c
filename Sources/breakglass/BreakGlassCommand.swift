import ArgumentParser

@main
struct BreakGlassCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakglass",
        abstract: "Executes approved emergency admin access restorations: safely, exactly once, with evidence.",
        discussion: "The wire contract is in the project's contract README; see README.md for operations.",
        subcommands: BreakGlassCommand.registered
    )
}
