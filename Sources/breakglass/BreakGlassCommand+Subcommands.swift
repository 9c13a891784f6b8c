import ArgumentParser

extension BreakGlassCommand {
    /// Every subcommand, in the order `--help` lists them.
    static let registered: [any ParsableCommand.Type] = [
        KeygenCommand.self,
        SignCommand.self,
        CheckCommand.self,
        ConfigCommand.self,
    ]
}
