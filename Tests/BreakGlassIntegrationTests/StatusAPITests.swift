import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

/// Issue 20.2: the restoration status API on a real worker's ops server: a grant's state, its evidence as an archive,
/// the open takeovers; 401 without the token, 404 for an unknown key, 400 for ids the contract forbids.
@Suite("restoration status API (the worker process)", .serialized)
struct StatusAPITests {
    @Test(
        "status, evidence archive and takeovers with the token; 401, 404 and 400 otherwise",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && WorkerProcessTests.binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func statusAPI() async throws {
        try await WorkerProcessTests.withWorld { sim, dir, signer, amqpURL, connection in
            let tokenFile = dir.appendingPathComponent("status.token")
            try "status-token-for-tests-7c2".write(to: tokenFile, atomically: true, encoding: .utf8)
            let worker = try WorkerProcessTests.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"),
                drainSeconds: 2,
                extraEnvironment: [
                    "BREAKGLASS_STATUS_TOKEN_FILE": tokenFile.path,
                    "BREAKGLASS_STATUS_PUBLIC_URL": "https://worker-it.example:9443/",
                ])
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")
            let auth = ["Authorization": "Bearer status-token-for-tests-7c2"]
            let path = "/v1/restorations/CASE-88121/tnt-4f9a2c"
            #expect(worker.get(path, headers: auth)?.status == 404, "not yet known")
            #expect(worker.get(path)?.status == 401)
            #expect(worker.get(path, headers: ["Authorization": "Bearer wrong"])?.status == 401)
            #expect(worker.get(path, headers: ["Authorization": "Basic c3RhdHVz"])?.status == 401)
            #expect(worker.get("/v1/restorations/-bad/tnt-4f9a2c", headers: auth)?.status == 400)
            #expect(worker.get("/v1/restorations/CASE%2088121/tnt-4f9a2c", headers: auth)?.status == 400)
            let dots = worker.get("/v1/evidence/..", headers: auth)?.status
            #expect(dots == 400 || dots == 404, "\(String(describing: dots))")

            let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: "REQ-IT-STATUS")
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: "REQ-IT-STATUS", headers: ["x-breakglass-signature": .string(header)])),
                exchange: "breakglass.requests", routingKey: "restoration.approved")
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    worker.get(path, headers: auth)?.body.contains("\"result\":\"granted\"") == true
                }, "\(worker.logText.suffix(2000))")
            let answer = try #require(worker.get(path, headers: auth))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
            #expect(object["state"] as? String == "granted")
            #expect((object["confirmation_id"] as? String)?.isEmpty == false)
            #expect(object["request_ids_seen"] as? [String] == ["REQ-IT-STATUS"])
            let evidence = try #require((object["evidence"] as? [[String: Any]])?.first)
            let href = try #require(evidence["href"] as? String)
            let bundleID = try #require(evidence["bundle_id"] as? String)
            #expect(!answer.body.contains("status-token-for-tests-7c2"))
            // The evidence-ready event names a place other hosts reach: the status API's public URL of the bundle.
            let ledger = try SQLiteLedger(configuration: .init(path: dir.appendingPathComponent("ledger.sqlite").path))
            let ready = try #require(
                try ledger.events(for: RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c"))
                    .first { $0.message.routingKey == EventType.evidenceReady.rawValue })
            let data = try #require(
                (try JSONSerialization.jsonObject(with: ready.message.body) as? [String: Any])?["data"]
                    as? [String: Any])
            #expect(data["location"] as? String == "https://worker-it.example:9443/v1/evidence/\(bundleID)")

            // The bundle as a tar archive: ustar headers, the manifest inside, nothing without the token.
            #expect(worker.getBytes(href)?.status == 401)
            let archive = try #require(worker.getBytes(href, headers: auth))
            #expect(archive.status == 200)
            #expect(archive.body.count > 1024 && archive.body.count % 512 == 0)
            #expect(Array(archive.body[257..<262]) == Array("ustar".utf8))
            let listing = String(decoding: archive.body, as: UTF8.self)
            #expect(listing.contains("\(bundleID)/manifest.json") && listing.contains("\(bundleID)/manifest.sig"))
            #expect(worker.get("/v1/evidence/NO-SUCH-BUNDLE", headers: auth)?.status == 404)

            let takeovers = try #require(worker.get("/v1/takeovers", headers: auth))
            #expect(takeovers.status == 200)
            #expect(
                (try JSONSerialization.jsonObject(with: Data(takeovers.body.utf8)) as? [String: Any])?["takeovers"]
                    is [Any])
        }
    }
}
