import ArgumentParser
import BreakGlassConsole
import BreakGlassCore
import BreakGlassWorker
import Logging
import Foundation

/// `breakglass console ...`: tools for console maps.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Console maps: describe a browser-only console without code.",
        subcommands: [CheckMap.self, Record.self]
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
                print(
                    "ok \(map.name): \(map.flow.count) flow screens (\(map.flow.joined(separator: " → "))), "
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

extension ConsoleCommand {
    /// `breakglass console record`: facts for a map author, never a grant.
    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "record",
            abstract:
                "Walk a console with a map in a real browser, up to but never including the final submit, and record each page.",
            discussion: """
                Drives the map's flow with the request (a contract request body, JSON; its signature is not needed and
                nothing is checked against the live sources), recording every page it reaches: headings, form fields
                (selector, name, label, masked value; password values are never read), buttons, elements with an id or a
                data-field and a short text, and a masked screenshot. It stops before the submit button of the map's
                submit screen (never pressed), or at the first page the map cannot take, which it records too: extend the
                map with what that page shows and record again. No ledger is opened, no draft saved, no evidence sealed.

                Output (owner-only): OUT/recording.json and OUT/NN-<screen>.png. Exit 0 when the walk reached the submit
                screen, 3 when it stopped earlier (the recording says why), 1 on a setup error.
                Uses the worker configuration's console.url, console.username, console.password(_file) and webdriver.*.
                """
        )

        @OptionGroup var options: ConfigOptions
        @Option(help: "The request body (JSON, contract §3) whose values are entered.") var request: String
        @Option(help: "The output folder (created; must not exist or be empty).") var out: String
        @Option(help: "The console map (default: console.map_file).") var map: String?

        func run() async throws {
            let values = try await options.load()
            LoggingSetup.bootstrap(values)
            let logger = Logger(label: "breakglass.console.record")
            let body = try Data(contentsOf: URL(fileURLWithPath: request))
            let parsed: RestorationRequest
            do {
                parsed = try RequestDecoder.decode(Array(body))
            } catch {
                throw ValidationError("\(request): not a valid request (\(error.code.rawValue): \(error.detail))")
            }
            let folder = URL(fileURLWithPath: out)
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            guard existing.isEmpty else { throw ValidationError("\(out) is not empty") }
            try FileManager.default.createDirectory(
                at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let recording = try await TakeoverRuntime(values: values, logger: logger).withConsoleDriver(mapFile: map) {
                driver in
                await driver.record(parsed, into: folder)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let file = folder.appendingPathComponent("recording.json")
            try encoder.encode(recording).write(to: file)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            for page in recording.pages {
                print(
                    "\(page.index). \(page.screen ?? "(unrecognised)") \(page.path) — \(page.headings.first ?? "no heading"): "
                        + "\(page.fields.count) fields, \(page.buttons.count) buttons\(page.screenshot.map { ", \($0)" } ?? "")"
                )
            }
            print("stopped: \(recording.stoppedBecause)")
            print("written: \(file.path)")
            if !recording.stoppedBecause.hasPrefix("before the final submit") { throw ExitCode(3) }
        }
    }
}
