import BreakGlassCore
import BreakGlassWorker
import Foundation
import Testing

@Suite("Configuration: YAML file + BREAKGLASS_* environment + --set")
struct ConfigurationTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func writeTemp(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bg-config-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func defaultsWithoutAnySource() async throws {
        let values = try await ConfigurationLoader(file: nil, environment: [:]).load()
        #expect(values[Config.requestQueue] == "breakglass.restorations")
        #expect(values[Config.deliveryLimit] == 10)
        #expect(values[Config.heartbeatSeconds] == 30)
        #expect(values[Config.otlpEndpoint] == nil)
    }

    /// Issue 14.3: every key is a typed constant of `Config`, and every constant is read somewhere in the product (a
    /// documented key that changes nothing misleads an operator: `amqp.prefetch` was one, removed; the prefetch is
    /// `worker.in_flight`). No code reads a key by its name.
    @Test func everyKeyIsTypedAndReadSomewhere() throws {
        let sources = Self.repoRoot.appendingPathComponent("Sources")
        let registry = try String(
            contentsOf: sources.appendingPathComponent("BreakGlassWorker/Configuration/ConfigurationKeys.swift"),
            encoding: .utf8)
        let constants = registry.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: "public static let "), line.contains("Setting<") else { return nil }
            return String(line[range.upperBound...].prefix { $0.isLetter || $0.isNumber })
        }
        #expect(constants.count == ConfigurationKeys.all.count)
        var text = ""
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        where file.pathExtension == "swift" && file.lastPathComponent != "ConfigurationKeys.swift" {
            text += try String(contentsOf: file, encoding: .utf8)
        }
        let dead = constants.filter { !text.contains("Config.\($0)") }
        #expect(dead.isEmpty, "keys read nowhere: \(dead)")
        let byName = ConfigurationKeys.all.map(\.name).filter { text.contains("(\"\($0)\")") }
        #expect(byName.isEmpty, "keys read by their name, not their typed constant: \(byName)")
    }

    /// Issue 14.3: misspelt `BREAKGLASS_*` variables were ignored (the key silently kept its default).
    @Test func anUnknownBreakglassVariableIsAnErrorNamingIt() async throws {
        await #expect(throws: ConfigurationError.unknownVariable("BREAKGLASS_LEDGER_LEASE_SECOND")) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_LEDGER_LEASE_SECOND": "30"]).load()
        }
        #expect(
            ConfigurationError.unknownVariable("BREAKGLASS_LEDGER_LEASE_SECOND").description
                == "unknown environment variable BREAKGLASS_LEDGER_LEASE_SECOND (no such configuration key; did you mean BREAKGLASS_LEDGER_LEASE_SECONDS?)"
        )
        // Harness and drill variables are not configuration keys and stay allowed.
        _ = try await ConfigurationLoader(
            file: nil,
            environment: [
                "BREAKGLASS_TEST_TMP": "/tmp", "BREAKGLASS_CRASH_AT": "x", "BREAKGLASS_BUILD_LOCK": "/tmp/l",
                "BREAKGLASS_BINARY": "b",
            ]
        ).load()
    }

    /// Issue 14.3: `log.level: verbose` silently became info.
    @Test func aValueOutsideTheKeysChoicesOrRangeNamesTheKeyAndItsOrigin() async throws {
        let file = try writeTemp("log:\n  level: verbose\n")
        await #expect(
            throws: ConfigurationError.outOfRange(
                "log.level", "must be one of trace, debug, info, notice, warning, error, critical", origin: file)
        ) {
            try await ConfigurationLoader(file: file, environment: [:]).load()
        }
        await #expect(
            throws: ConfigurationError.outOfRange(
                "webdriver.isolation", "must be one of auto, required, off",
                origin: "environment BREAKGLASS_WEBDRIVER_ISOLATION")
        ) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_WEBDRIVER_ISOLATION": "strict"]).load()
        }
        await #expect(
            throws: ConfigurationError.outOfRange("worker.in_flight", "must be from 1 to 64", origin: "--set")
        ) {
            try await ConfigurationLoader(file: nil, environment: [:], overrides: ["worker.in_flight": "0"]).load()
        }
    }

    /// Issue 14.3: the line scanner rejected valid flow-style YAML; unknown keys are now found in the parsed tree.
    @Test func flowStyleYAMLIsReadAndItsUnknownKeysFound() async throws {
        let flow = try writeTemp(
            "amqp: {heartbeat_seconds: 12, request_queue: \"q.flow\"}\ngate: {required_roles: [a, b]}\n")
        let values = try await ConfigurationLoader(file: flow, environment: [:]).load()
        #expect(values[Config.heartbeatSeconds] == 12)
        #expect(values[Config.requestQueue] == "q.flow")
        #expect(values[Config.requiredRoles] == ["a", "b"])
        #expect(values.origin(of: "amqp.heartbeat_seconds") == flow)
        #expect(values.origin(of: "amqp.rpc_timeout_seconds") == "default")
        let typo = try writeTemp("amqp: {heartbeat_second: 12}\n")
        await #expect(throws: ConfigurationError.unknownKey("amqp.heartbeat_second", origin: typo)) {
            try await ConfigurationLoader(file: typo, environment: [:]).load()
        }
        let section = try writeTemp("amqp:\n  tls: {ca_fil: x}\n")
        await #expect(throws: ConfigurationError.unknownKey("amqp.tls.ca_fil", origin: section)) {
            try await ConfigurationLoader(file: section, environment: [:]).load()
        }
    }

    /// Issue 14.3: a relative path in a configuration file resolves against the file's folder; a relative input path
    /// that does not exist is an error naming the key, the resolved path and where it was set.
    @Test func relativePathsResolveAgainstTheFileAndMustExist() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bg-config-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("maps"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "x".write(to: folder.appendingPathComponent("maps/console.yaml"), atomically: true, encoding: .utf8)
        let file = folder.appendingPathComponent("worker.yaml").path
        try "console:\n  map_file: maps/console.yaml\nledger:\n  path: state/ledger.sqlite\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let values = try await ConfigurationLoader(file: file, environment: [:]).load()
        #expect(
            values[Config.consoleMapFile] == folder.appendingPathComponent("maps/console.yaml").standardizedFileURL.path
        )
        #expect(
            values[Config.ledgerPath] == folder.appendingPathComponent("state/ledger.sqlite").standardizedFileURL.path)
        // Left at its default, a path stays relative to the working directory.
        #expect(values[Config.evidenceDir] == "run/evidence")
        let missing = folder.appendingPathComponent("missing.yaml").path
        try "sources:\n  token_file: secrets/token\n".write(toFile: missing, atomically: true, encoding: .utf8)
        await #expect(
            throws: ConfigurationError.missingPath(
                "sources.token_file", folder.appendingPathComponent("secrets/token").standardizedFileURL.path,
                base: "relative to \(folder.path)", origin: missing)
        ) {
            try await ConfigurationLoader(file: missing, environment: [:]).load()
        }
        await #expect(
            throws: ConfigurationError.missingPath(
                "console.password_file", "no/such/file", base: "relative to the working directory",
                origin: "environment BREAKGLASS_CONSOLE_PASSWORD_FILE")
        ) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_CONSOLE_PASSWORD_FILE": "no/such/file"])
                .load()
        }
    }

    /// Issue 14: `console.page_timeout_seconds` / `console.confirmation_timeout_seconds` were declared and read nowhere.
    @Test func consoleTimeoutKeysOverrideTheMapsTimeoutsWhenSet() async throws {
        let map = Self.repoRoot.appendingPathComponent("config/consoles/reference.yaml").path
        let plain = try await ConfigurationLoader(file: nil, environment: [:], overrides: ["console.map_file": map])
            .load()
        #expect(try plain.consoleMap().timeouts.screenMs == 15_000)
        let set = try await ConfigurationLoader(
            file: nil,
            environment: [
                "BREAKGLASS_CONSOLE_PAGE_TIMEOUT_SECONDS": "7", "BREAKGLASS_CONSOLE_CONFIRMATION_TIMEOUT_SECONDS": "45",
            ], overrides: ["console.map_file": map]
        ).load()
        #expect(try set.consoleMap().timeouts.screenMs == 7_000)
        #expect(try set.consoleMap().timeouts.confirmationMs == 45_000)
        // The confirmation bound (and so the lease at `submitting`) follows the override.
        #expect(
            set.pipelineConfiguration(
                workerID: "w", confirmationTimeoutMs: try set.consoleMap().timeouts.confirmationMs
            )
            .confirmationBound == .seconds(45 + 15 + 5))
        await #expect(throws: (any Error).self) {
            try await ConfigurationLoader(file: nil, environment: ["BREAKGLASS_CONSOLE_PAGE_TIMEOUT_SECONDS": "0"])
                .load()
        }
    }

    @Test func precedenceIsSetOverEnvironmentOverFile() async throws {
        let file = try writeTemp("amqp:\n  rpc_timeout_seconds: 7\n  heartbeat_seconds: 12\nworker:\n  in_flight: 3\n")
        let env = ["BREAKGLASS_AMQP_RPC_TIMEOUT_SECONDS": "9", "BREAKGLASS_WORKER_IN_FLIGHT": "4", "UNRELATED": "x"]
        let values = try await ConfigurationLoader(file: file, environment: env, overrides: ["worker.in_flight": "5"])
            .load()
        #expect(values[Config.heartbeatSeconds] == 12)
        #expect(values[Config.rpcTimeoutSeconds] == 9)
        #expect(values[Config.inFlight] == 5)
    }

    @Test func unknownKeysAndBadValuesAreSpecificErrors() async throws {
        let typo = try writeTemp("amqp:\n  prefech: 7\n")
        await #expect(throws: ConfigurationError.unknownKey("amqp.prefech", origin: typo)) {
            try await ConfigurationLoader(file: typo, environment: [:]).load()
        }
        let wrongType = try writeTemp("amqp:\n  rpc_timeout_seconds: many\n")
        await #expect(
            throws: ConfigurationError.invalidValue("amqp.rpc_timeout_seconds", expected: "int", origin: wrongType)
        ) {
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
        let token = try values.secret(Config.sourcesToken, file: Config.sourcesTokenFile)
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
        for (key, env) in [
            ("console.url", "BREAKGLASS_CONSOLE_URL"), ("sources.base_url", "BREAKGLASS_SOURCES_BASE_URL"),
        ] {
            await #expect(throws: ConfigurationError.self, "\(key)") {
                try await ConfigurationLoader(file: nil, environment: [env: "http://console.example:8080"]).load()
            }
            _ = try await ConfigurationLoader(
                file: nil,
                environment: [env: "http://console.example:8080", "BREAKGLASS_SECURITY_ALLOW_PLAIN_HTTP": "true"]
            ).load()
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
            file: nil,
            environment: ["BREAKGLASS_SOURCES_TOKEN_FILE": secretFile.path, "BREAKGLASS_SOURCES_TOKEN": "inline"]
        ).load()
        #expect(try values.secret(Config.sourcesToken, file: Config.sourcesTokenFile)?.revealed == "from-file-token")
    }

    @Test func committedExampleMatchesTheRegistryAndLoads() async throws {
        let path = Self.repoRoot.appendingPathComponent("config/breakglass.example.yaml").path
        let committed = try String(contentsOfFile: path, encoding: .utf8)
        #expect(
            committed == ConfigurationKeys.exampleYAML(),
            "regenerate with: breakglass config example > config/breakglass.example.yaml")
        let values = try await ConfigurationLoader(file: path, environment: [:]).load()
        #expect(values[Config.ledgerPath] == "run/ledger.sqlite")
    }

    @Test func environmentNames() {
        #expect(ConfigurationKeys.spec("amqp.url")?.environmentName == "BREAKGLASS_AMQP_URL")
        #expect(ConfigurationKeys.spec("amqp.tls.ca_file")?.environmentName == "BREAKGLASS_AMQP_TLS_CA_FILE")
        #expect(Set(ConfigurationKeys.all.map(\.environmentName)).count == ConfigurationKeys.all.count)
    }
}
