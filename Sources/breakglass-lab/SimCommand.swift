import ArgumentParser
import BreakGlassSimulator
import Foundation
import Hummingbird
import Logging

/// `breakglass sim`: runs the reference environment (live sources, the browser-only console, the test-control API)
/// until SIGINT/SIGTERM.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the reference environment: live-source API, emergency admin console and test-control API.",
        discussion: """
            The live-source API (/v1) needs `Authorization: Bearer <token>` with the token of --token-file (or \
            BREAKGLASS_SIM_API_TOKEN); the control API (/control) needs the token of --control-token-file (or \
            BREAKGLASS_SIM_CONTROL_TOKEN). A token file that does not exist yet is created with a random token (mode 0600). \
            The console is at http://HOST:PORT/console/login; its service account is in the fixtures.

            Control API (JSON): GET|PUT /control/fixtures, POST /control/fixtures/merge, POST /control/reset,
            POST /control/cases/{case_id}/approvals/{approval_id} {"action": "revoke"|"renew"|"pending"},
            GET|PUT|DELETE /control/faults, PUT /control/faults/global, PUT|DELETE /control/faults/tenants/{tenant_id},
            POST /control/release-hangs, GET /control/grants[?tenant_id=&external_reference=] (grant counts).
            Fault modes: id_drift, broader_scope_prechecked, expiration_control_missing, existing_session_banner,
            wrong_tenant_after_lookup, page_delay_ms, error_at_screen, session_expires_at_screen, ambiguous_confirmation,
            confirmation_hang (+ confirmation_hang_ms), grant_absent_from_iam, revoke_failure ("error"|"silent").
            """
    )

    @Option(help: "Port to listen on (0 picks a free one and logs it).")
    var port: Int

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Fixtures file (YAML, or JSON when it ends in .json). Default: config/simulator.fixtures.yaml.")
    var fixtures: String = "config/simulator.fixtures.yaml"

    @Option(name: .customLong("token-file"), help: "File holding the live-source API bearer token.")
    var tokenFile: String?

    @Option(name: .customLong("control-token-file"), help: "File holding the test-control API bearer token.")
    var controlTokenFile: String?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
    }

    func run() async throws {
        let logger = Logger(label: "breakglass.sim")
        let apiToken = try Self.token(
            file: tokenFile, environment: "BREAKGLASS_SIM_API_TOKEN", what: "API", logger: logger)
        let controlToken = try Self.token(
            file: controlTokenFile, environment: "BREAKGLASS_SIM_CONTROL_TOKEN",
            what: "control", logger: logger)
        let loaded: SimulatorFixtures
        do {
            loaded = try SimulatorFixtures.load(contentsOf: URL(fileURLWithPath: fixtures))
        } catch let error as SimulatorError {
            throw ValidationError("\(error.description): \(error.detail)")
        }
        let simulator: Simulator
        do {
            simulator = try Simulator(
                configuration: .init(host: host, port: port, apiToken: apiToken, controlToken: controlToken),
                fixtures: loaded, logger: logger)
        } catch let error as SimulatorError {
            throw ValidationError("\(error.description): \(error.detail)")
        }
        logger.info(
            "simulator starting",
            metadata: [
                "breakglass.fixtures": "\(fixtures)", "breakglass.tenants": .stringConvertible(loaded.tenants.count),
                "breakglass.cases": "\(loaded.cases.count)",
            ])
        try await simulator.makeApplication().runService()
    }

    /// Reads a token file (creating it with a random token when missing) or the environment variable.
    static func token(file: String?, environment: String, what: String, logger: Logger) throws -> String {
        if let file {
            let url = URL(fileURLWithPath: file)
            if FileManager.default.fileExists(atPath: url.path) {
                guard let text = try? String(contentsOf: url, encoding: .utf8) else {
                    throw ValidationError("cannot read the \(what) token file \(file)")
                }
                let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard !token.isEmpty else { throw ValidationError("the \(what) token file \(file) is empty") }
                return token
            }
            var bytes = [UInt8](repeating: 0, count: 32)
            var generator = SystemRandomNumberGenerator()
            for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
            let token = bytes.map { String(format: "%02x", $0) }.joined()
            // Owner-only from the start (never briefly readable by others).
            guard
                FileManager.default.createFile(
                    atPath: url.path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
            else { throw ValidationError("cannot create the \(what) token file \(file)") }
            logger.info(
                "generated a token file",
                metadata: ["breakglass.token_kind": "\(what)", "breakglass.token_file": "\(file)"])
            return token
        }
        if let token = ProcessInfo.processInfo.environment[environment]?.trimmingCharacters(
            in: .whitespacesAndNewlines),
            !token.isEmpty
        {
            return token
        }
        throw ValidationError("give --\(what == "API" ? "token-file" : "control-token-file") or set \(environment)")
    }
}
