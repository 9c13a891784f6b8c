import ArgumentParser
import BreakGlassWorker
import Foundation

@main
struct BreakGlassCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakglass",
        abstract: "Executes approved emergency admin access restorations: safely, exactly once, with evidence.",
        discussion: "The wire contract is in the project's contract README; see README.md for operations.",
        subcommands: BreakGlassCommand.registered
    )

    /// Every command hardens the process before anything else (owner-only files, no core dumps), then runs.
    static func main() async {
        if let problem = ProcessHardening.apply() {
            FileHandle.standardError.write(Data("warning: \(problem)\n".utf8))
        }
        await main(nil)
    }
}
