import ArgumentParser
import BreakGlassConsole
import Foundation

/// `breakglass console ...`: tools for console maps.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Console maps: describe a browser-only console without code.",
        subcommands: [CheckMap.self]
    )

    struct CheckMap: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-map",
            abstract: "Validate a console map (YAML); prints every broken rule with its path.",
            discussion: """
                Exit 0 with a summary when the map is usable, 1 with one line per issue (`path: rule`) otherwise.
                The shipped map for the reference environment is config/consoles/reference.yaml.
                """
        )

        @Argument(help: "The console map file.")
        var file: String

        func run() throws {
            do {
                let map = try ConsoleMap.load(file: URL(fileURLWithPath: file))
                let assertions = map.screens.reduce(0) { $0 + $1.assertions.count }
                let fields = map.screens.reduce(0) { $0 + $1.fields.count }
                print("ok \(map.name): \(map.flow.count) flow screens (\(map.flow.joined(separator: " → "))), "
                    + "\(fields) fields, \(assertions) assertions, \(map.watch.count) watches, "
                    + "draft \(map.draft == nil ? "no" : "yes"), revoke \(map.revoke == nil ? "no" : "yes")")
            } catch {
                print("invalid \(file): \(error.description)")
                for issue in error.issues { print("  \(issue)") }
                throw ExitCode(1)
            }
        }
    }
}
