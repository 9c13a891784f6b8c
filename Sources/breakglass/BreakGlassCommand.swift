import ArgumentParser
import BreakGlassCore
import BreakGlassWorker
import Foundation

@main
struct BreakGlassCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakglass",
        abstract: "Executes approved emergency admin access restorations: safely, exactly once, with evidence.",
        discussion: "The wire contract is in docs/contract/; see README.md for operations.",
        version: BuildInfo.version,
        subcommands: BreakGlassCommand.registered
    )

    /// Every command hardens the process before anything else (owner-only files, no core dumps), then runs.
    static func main() async {
        if let problem = ProcessHardening.apply() {
            FileHandle.standardError.write(Data("warning: \(problem)\n".utf8))
        }
        do {
            var command = try parseAsRoot(nil)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("Error: \(failure.description)\n".utf8))
            Foundation.exit(failure.kind.exitStatus)
        } catch {
            exit(withError: error)
        }
    }
}
