import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import BreakGlassLedgerPostgres
import BreakGlassSimulator
import Foundation
import Testing

/// Real worker processes on a real PostgreSQL ledger (issue 17): two workers (as on two hosts) share one database;
/// the request and its copies end in one grant, and the people's commands read the same ledger by its URL.
@Suite("Workers on a shared PostgreSQL ledger (real worker processes, RabbitMQ, Chromium, PostgreSQL)", .serialized)
struct PostgresWorkerTests {
    static var server: (url: String, passwordFile: String)? {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["BREAKGLASS_TEST_POSTGRES_URL"],
            let passwordFile = environment["BREAKGLASS_TEST_POSTGRES_PASSWORD_FILE"]
        else { return nil }
        return (url, passwordFile)
    }

    /// A new database on the test server; its URL (no password, no TLS on loopback).
    static func freshDatabase(_ server: (url: String, passwordFile: String)) throws -> String {
        let name = "bg_worker_\(UUID().uuidString.prefix(8).lowercased())"
        let password = try String(contentsOfFile: server.passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", server.url, "-c", "CREATE DATABASE \(name)"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PGPASSWORD": password]) { _, new in new }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestEnvironmentError.commandFailed("psql CREATE DATABASE", process.terminationStatus)
        }
        guard let slash = server.url.lastIndex(of: "/") else { return server.url }
        return String(server.url[...slash]) + name
    }

    @Test(
        "two workers on one PostgreSQL ledger: one grant for a request and its copies, readable by URL from any host",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && WorkerProcessTests.binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func twoWorkersShareOnePostgresLedger() async throws {
        guard let server = Self.server else {
            #expect(!TestEnvironment.requireServices, "BREAKGLASS_TEST_POSTGRES_URL is not set")
            return
        }
        let url = try Self.freshDatabase(server)
        try await WorkerProcessTests.withWorld { sim, dir, signer, amqpURL, connection in
            let shared = [
                "BREAKGLASS_LEDGER_URL": url, "BREAKGLASS_LEDGER_PASSWORD_FILE": server.passwordFile,
            ]
            var workers: [WorkerProcessTests.WorkerProcess] = []
            defer { for worker in workers { _ = worker.terminate() } }
            for name in ["host-a", "host-b"] {
                let folder = dir.appendingPathComponent(name)
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                try FileManager.default.copyItem(
                    at: dir.appendingPathComponent("trusted-keys.json"),
                    to: folder.appendingPathComponent("trusted-keys.json"))
                workers.append(
                    try WorkerProcessTests.WorkerProcess(
                        dir: folder, amqpURL: amqpURL, simURL: sim.baseURL,
                        trustedKeys: folder.appendingPathComponent("trusted-keys.json"), drainSeconds: 2,
                        name: name, extraEnvironment: shared))
            }
            for worker in workers {
                #expect(
                    try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                    "\(worker.logText.suffix(2000))")
            }
            // The request, an identical copy and a replay under a new request id, at once.
            for requestID in ["REQ-PG-1", "REQ-PG-1", "REQ-PG-2"] {
                let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: requestID)
                try await connection.publish(
                    AMQPMessage(
                        body: body,
                        properties: .persistent(
                            messageID: requestID, headers: ["x-breakglass-signature": .string(header)])),
                    exchange: "breakglass.requests", routingKey: "restoration.approved")
            }
            let password = try String(contentsOfFile: server.passwordFile, encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let ledger = try await PostgresLedger.open(
                configuration: PostgresLedger.Configuration(url: url, password: password))
            let key = RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c")
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    let state = (try? await ledger.entry(for: key))?.state
                    let sightings = (try? await ledger.requestSightings(for: key))?.count
                    let pending = (try? await ledger.pendingEvents(limit: 10))?.count
                    return state == .granted && sightings == 2 && pending == 0
                }, "\(workers.map { String($0.logText.suffix(1500)) })")
            #expect(await WorkerProcessTests.grantCount(sim.state, "CASE-88121/tnt-4f9a2c") == 1)
            #expect(try await ledger.entry(for: key)?.epoch == 1, "claimed once: the other worker never reclaimed it")
            await ledger.shutdown()

            // A person on any host reads the fleet's ledger by its URL (the password from its file).
            let binary = try #require(WorkerProcessTests.binary)
            let show = Process()
            show.executableURL = binary
            show.arguments = ["ledger", "show", "CASE-88121/tnt-4f9a2c", "--ledger", url]
            show.environment = ProcessInfo.processInfo.environment.merging([
                "BREAKGLASS_LEDGER_PASSWORD_FILE": server.passwordFile
            ]) { _, new in new }
            let output = Pipe()
            show.standardOutput = output
            show.standardError = output
            try show.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            show.waitUntilExit()
            #expect(show.terminationStatus == 0, "\(text)")
            #expect(text.contains("granted"))
            #expect(text.contains("REQ-PG-2"), "every request id seen is listed")
            #expect(!text.contains(password), "the password never appears in output")
        }
    }
}
