import ArgumentParser

extension BreakGlassCommand {
    /// Every subcommand, in the order `--help` lists them.
    static let registered: [any ParsableCommand.Type] = [
        // The worker and its broker. (The simulator, benchmarks and drills are `breakglass-lab`.)
        RunCommand.self,
        EnqueueCommand.self,
        TopologyCommand.self,
        DeadCommand.self,
        // People: the ledger, takeovers, evidence.
        LedgerCommand.self,
        TakeoverCommand.self,
        ReportCommand.self,
        EvidenceCommand.self,
        ConsoleCommand.self,
        // Producers' tools.
        KeygenCommand.self,
        SignCommand.self,
        CheckCommand.self,
        ConfigCommand.self,
    ]
}
