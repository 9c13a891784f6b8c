import BreakGlassCore
import BreakGlassWorker
import Foundation
import Testing

@Suite("Configuration: YAML file + BREAKGLASS_* environment + --set")
struct ConfigurationTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func writeTemp(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bg-config-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func defaultsWithoutAnySource() async throws {
        let values = try await ConfigurationLoader(file: nil, environment: [:]).load()
        #expect(values.string("amqp.request_queue") == "breakglass.restorations")
        #expect(values.int("amqp.delivery_limit") == 10)
        #expect(values.int("amqp.heartbeat_seconds") == 30)
        #expect(values.string("tracing.otlp_endpoint") == nil)
    }

    /// Issue 14.3: every key of the registry is read somewhere in the product (a documented key that changes nothing
    /// misleads an operator: `amqp.prefetch` was one, removed; the prefetch is `worker.in_flight`).
    @Test func everyKeyIsReadSomewhere() throws {
        let sources = Self.repoRoot.appendingPathComponent("Sources")
        var text = ""
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            where file.pathExtension == "swift" && file.lastPathComponent != "ConfigurationKeys.swift" {
            text += try String(contentsOf: file, encoding: .utf8)
        }
        let dead = ConfigurationKeys.all.map(\.name).filter { !text.contains("\"\($0)\"") }
        #expect(dead.isEmpty, "keys read nowhere: \(dead)")
    }

    /// Issue 14: `console.page_timeout_seconds` / `console.confirmation_timeout_seconds` were declared and read nowhere.
    @Test func consoleTimeoutKeysOverrideTheMapsTimeoutsWhenSet() async throws {
        let map = Self.repoRoot.appendingPathComponent("config/consoles/reference.yaml").path
        let plain = try await ConfigurationLoader(file: nil, environment: [:], overrides: ["console.map_file": map]).load()
        #expect(try plain.consoleMap().timeouts.screenMs == 15_000)
        let set = try await ConfigurationLoader(file: nil, environment: [
            "BREAKGLASS_CONSOLE_PAGE_TIMEOUT_SECONDS": "7", "BREAKGLASS_CONSOLE_CONFIRMATION_TIMEOUT_SECONDS": "45",
        ], overrides: ["console.map_file": map]).load()
        #expect(try set.consoleMap().timeouts.screenMs == 7_000)
        #expect(try set.consoleMap().timeouts.confirmationMs == 45_000)
        // The confirmation bound (and so the lease at `submitting`) follows the override.
        #expect(set.pipelineConfiguration(workerID: "w", confirmationTimeoutMs: try set.consoleMap().timeouts.confirmationMs)
            .confirmationBound == .seconds(45 + 15 + 5))
        await #expect(throws: (any Error).self) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_CONSOLE_PAGE_TIMEOUT_SECONDS": "0"]).load()
        }
    }

    @Test func precedenceIsSetOverEnvironmentOverFile() async throws {
        let file = try writeTemp("amqp:\n  rpc_timeout_seconds: 7\n  heartbeat_seconds: 12\nworker:\n  in_flight: 3\n")
        let env = ["BREAKGLASS_AMQP_RPC_TIMEOUT_SECONDS": "9", "BREAKGLASS_WORKER_IN_FLIGHT": "4", "UNRELATED": "x"]
        let values = try await ConfigurationLoader(file: file, environment: env, overrides: ["worker.in_flight": "5"]).load()
        #expect(values.int("amqp.heartbeat_seconds") == 12)
        #expect(values.int("amqp.rpc_timeout_seconds") == 9)
        #expect(values.int("worker.in_flight") == 5)
    }

    @Test func unknownKeysAndBadValuesAreSpecificErrors() async throws {
        let typo = try writeTemp("amqp:\n  prefech: 7\n")
        await #expect(throws: ConfigurationError.unknownKey("amqp.prefech", origin: typo)) {
            try await ConfigurationLoader(file: typo, environment: [:]).load()
        }
        let wrongType = try writeTemp("amqp:\n  rpc_timeout_seconds: many\n")
        await #expect(throws: ConfigurationError.invalidValue("amqp.rpc_timeout_seconds", expected: "int")) {
            try await ConfigurationLoader(file: wrongType, environment: [:]).load()
        }
        await #expect(throws: ConfigurationError.self) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_AMQP_HEARTBEAT_SECONDS": "0"]).load()
        }
        await #expect(throws: ConfigurationError.unknownKey("nope.key", origin: "--set")) {
            try await ConfigurationLoader(file: nil, environment: [:], overrides: ["nope.key": "1"]).load()
        }
    }

    @Test func secretsAreNeverListed() async throws {
        let env = [
            "BREAKGLASS_SOURCES_TOKEN": "canary-token-4411",
            "BREAKGLASS_AMQP_URL": "amqp://svc:canary-pass-9@127.0.0.1:5672/",
            "BREAKGLASS_CONSOLE_PASSWORD": "canary-console-77",
        ]
        let values = try await ConfigurationLoader(file: nil, environment: env).load()
        let listing = values.redactedListing().joined(separator: "\n")
        for canary in ["canary-token-4411", "canary-pass-9", "canary-console-77"] {
            #expect(!listing.contains(canary))
        }
        #expect(listing.contains("sources.token = <redacted>"))
        let token = try values.secret("sources.token", fileKey: "sources.token_file")
        #expect(token?.revealed == "canary-token-4411")
        #expect("\(token!)" == "<redacted>")
    }

    /// Issue 16.7: `config show` printed `https://u:secret@…` for URL-valued keys that are not secrets themselves.
    @Test func credentialsInAnyURLValuedKeyAreRedacted() async throws {
        let env = [
            "BREAKGLASS_SOURCES_BASE_URL": "https://svc:canary-url-pass-31@sources.example:8443/api",
            "BREAKGLASS_WEBDRIVER_URL": "http://canary-token-only-52@127.0.0.1:9515",
        ]
        let values = try await ConfigurationLoader(file: nil, environment: env).load()
        let listing = values.redactedListing().joined(separator: "\n")
        #expect(!listing.contains("canary-url-pass-31"))
        #expect(!listing.contains("canary-token-only-52"))
        #expect(listing.contains("https://svc:<redacted>@sources.example:8443/api"))
        #expect(listing.contains("http://<redacted>@127.0.0.1:9515"))
        #expect(ConfigurationValues.redactingUserinfo("plain text, no url") == "plain text, no url")
        #expect(ConfigurationValues.redactingUserinfo("mailto-like a@b") == "mailto-like a@b")
    }

    /// Issue 16.2: plain http:// to a console or sources host off loopback is refused unless explicitly allowed.
    @Test func plainHTTPOffLoopbackIsRefusedUnlessAllowed() async throws {
        for (key, env) in [("console.url", "BREAKGLASS_CONSOLE_URL"), ("sources.base_url", "BREAKGLASS_SOURCES_BASE_URL")] {
            await #expect(throws: ConfigurationError.self, "\(key)") {
                try await ConfigurationLoader(file: nil, environment: [env: "http://console.example:8080"]).load()
            }
            _ = try await ConfigurationLoader(
                file: nil, environment: [env: "http://console.example:8080", "BREAKGLASS_SECURITY_ALLOW_PLAIN_HTTP": "true"]).load()
            _ = try await ConfigurationLoader(file: nil, environment: [env: "https://console.example"]).load()
            _ = try await ConfigurationLoader(file: nil, environment: [env: "http://127.0.0.1:8080"]).load()
            _ = try await ConfigurationLoader(file: nil, environment: [env: "http://localhost:8080"]).load()
        }
    }

    /// Issue 16.5/16.6: every command starts owner-only and without core dumps.
    @Test func processHardeningMakesFilesOwnerOnlyAndDisablesCoreDumps() throws {
        ProcessHardening.apply()
        #expect(ProcessHardening.currentUmask == 0o077)
        #expect(!ProcessHardening.isDumpable)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bg-umask-\(UUID().uuidString)")
        try Data("x".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let mode = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func secretFromFile() async throws {
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("bg-token-\(UUID().uuidString)")
        try "from-file-token\n".write(to: secretFile, atomically: true, encoding: .utf8)
        let values = try await ConfigurationLoader(
            file: nil, environment: ["BREAKGLASS_SOURCES_TOKEN_FILE": secretFile.path, "BREAKGLASS_SOURCES_TOKEN": "inline"]
        ).load()
        #expect(try values.secret("sources.token", fileKey: "sources.token_file")?.revealed == "from-file-token")
    }

    @Test func committedExampleMatchesTheRegistryAndLoads() async throws {
        let path = Self.repoRoot.appendingPathComponent("config/breakglass.example.yaml").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(committed == ConfigurationKeys.exampleYAML(), "regenerate with: breakglass config example > config/breakglass.example.yaml")
        let values = try await ConfigurationLoader(file: path, environment: [:]).load()
        #expect(values.string("ledger.path") == "run/ledger.sqlite")
    }

    @Test func environmentNames() {
        #expect(ConfigurationKeys.spec("amqp.url")?.environmentName == "BREAKGLASS_AMQP_URL")
        #expect(ConfigurationKeys.spec("amqp.tls.ca_file")?.environmentName == "BREAKGLASS_AMQP_TLS_CA_FILE")
        #expect(Set(ConfigurationKeys.all.map(\.environmentName)).count == ConfigurationKeys.all.count)
    }
}
