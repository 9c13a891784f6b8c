import ArgumentParser
import BreakGlassWorker
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Inspect configuration.",
        subcommands: [Show.self, Example.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the effective configuration (file + BREAKGLASS_* environment + --set), secrets redacted."
        )

        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let values = try await options.load()
            for line in values.redactedListing() { print(line) }
        }
    }

    struct Example: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the documented example configuration (config/breakglass.example.yaml)."
        )

        func run() {
            print(ConfigurationKeys.exampleYAML(), terminator: "")
        }
    }
}

/// `--config FILE` and `--set key=value`, shared by every command that reads the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .customLong("set"), help: "Override one key: --set amqp.prefetch=4 (repeatable).")
    var overrides: [String] = []

    func load() async throws -> ConfigurationValues {
        var pairs: [String: String] = [:]
        for item in overrides {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--set takes key=value") }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        do {
            return try await ConfigurationLoader(file: config, overrides: pairs).load()
        } catch {
            throw CommandFailure(.configuration, error.description)
        }
    }
}
