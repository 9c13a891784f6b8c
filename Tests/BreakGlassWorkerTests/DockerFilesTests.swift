import Foundation
import Testing
import Yams

/// Docker cannot run on the build machines: these tests check that `docker/` parses and names the services,
/// ports and broker topology the README and the contract promise.
@Suite("docker/ files")
struct DockerFilesTests {
    static let docker = ConfigurationTests.repoRoot.appendingPathComponent("docker")

    func text(_ name: String) throws -> String {
        try String(contentsOf: Self.docker.appendingPathComponent(name), encoding: .utf8)
    }

    @Test func composeNamesTheServicesAndPorts() throws {
        let compose = try #require(try Yams.load(yaml: text("compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: Any])
        #expect(Set(services.keys) == ["rabbitmq", "simulator", "worker"])
        let rabbit = try #require(services["rabbitmq"] as? [String: Any])
        #expect((rabbit["ports"] as? [String])?.contains("127.0.0.1:5672:5672") == true)
        let simulator = try #require(services["simulator"] as? [String: Any])
        #expect((simulator["ports"] as? [String])?.contains("127.0.0.1:8080:8080") == true)
        // Published on loopback only.
        for service in services.values.compactMap({ $0 as? [String: Any] }) {
            for port in (service["ports"] as? [String]) ?? [] {
                #expect(port.hasPrefix("127.0.0.1:"), "\(port) is published beyond loopback")
            }
        }
        let worker = try #require(services["worker"] as? [String: Any])
        #expect((worker["expose"] as? [String]) == ["9090"])
        // Scalable with --scale: no fixed host port, no container_name.
        #expect(worker["ports"] == nil)
        #expect(worker["container_name"] == nil)
        // Above worker.drain_seconds (30), so docker compose stop does not kill a draining worker.
        #expect(worker["stop_grace_period"] as? String == "60s")
        let environment = try #require(worker["environment"] as? [String: Any])
        #expect(environment.keys.allSatisfy { $0.hasPrefix("BREAKGLASS_") })
        // Secrets come from files, never inline.
        #expect(!environment.keys.contains("BREAKGLASS_SOURCES_TOKEN"))
        #expect(!environment.keys.contains("BREAKGLASS_CONSOLE_PASSWORD"))
    }

    @Test func dockerfileIsMultiStageAndNonRoot() throws {
        let dockerfile = try text("Dockerfile")
        let stages = dockerfile.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:") == true)
        for package in ["librabbitmq4", "libsqlite3-0", "chromium", "chromium-driver"] {
            #expect(dockerfile.contains(package), "runtime stage installs \(package)")
        }
        #expect(dockerfile.contains("USER breakglass"))
    }

    @Test func brokerDefinitionsCarryTheContractTopology() throws {
        let data = try Data(contentsOf: Self.docker.appendingPathComponent("rabbitmq/definitions.json"))
        let definitions = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // No users or password hashes committed: docker/make-secrets adds them to the copy the broker imports.
        #expect((definitions["users"] as? [Any])?.isEmpty ?? true)
        let policies = try #require(definitions["policies"] as? [[String: Any]])
        #expect(policies.contains { ($0["definition"] as? [String: Any])?["delivery-limit"] as? Int == 10 })
        let exchanges = try #require(definitions["exchanges"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: exchanges.map { ($0["name"] as! String, $0) })
        #expect(byName["breakglass.requests"]?["type"] as? String == "direct")
        #expect(byName["breakglass.dead"]?["type"] as? String == "fanout")
        #expect(byName["breakglass.events"]?["type"] as? String == "topic")
        let queues = try #require(definitions["queues"] as? [[String: Any]])
        let request = try #require(queues.first { $0["name"] as? String == "breakglass.restorations" })
        let arguments = try #require(request["arguments"] as? [String: Any])
        #expect(arguments["x-queue-type"] as? String == "quorum")
        #expect(arguments["x-dead-letter-exchange"] as? String == "breakglass.dead")
        #expect(arguments["x-delivery-limit"] as? Int == 10)
        let bindings = try #require(definitions["bindings"] as? [[String: Any]])
        #expect(
            bindings.contains {
                $0["destination"] as? String == "breakglass.restorations"
                    && $0["routing_key"] as? String == "restoration.approved"
            })
    }
}
