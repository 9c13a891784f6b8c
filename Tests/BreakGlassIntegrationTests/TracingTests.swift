import BreakGlassAMQP
import BreakGlassCore
import BreakGlassLedger
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
    import Glibc
#endif

/// Issue 18.4: the real worker, a request carrying a W3C traceparent, and a local OTLP/HTTP receiver: the spans arrive
/// as one tree in the producer's trace (verify, claim, gate with each source, console with each screen, the recheck,
/// submitting, the click, the IAM check, the decision, and each event's publish).
@Suite("tracing (OTLP spans from the worker process)", .serialized)
struct TracingTests {
    @Test(
        "a traced request's spans reach a local OTLP receiver as one tree in the producer's trace",
        .enabled(
            if: TestEnvironment.hasRabbitMQ && TestEnvironment.hasWebDriver && WorkerProcessTests.binary != nil,
            .init(rawValue: TestEnvironment.skipHint)))
    func spansFormOneTree() async throws {
        let receiver = try OTLPReceiver()
        defer { receiver.stop() }
        try await WorkerProcessTests.withWorld { sim, dir, signer, amqpURL, connection in
            let worker = try WorkerProcessTests.WorkerProcess(
                dir: dir, amqpURL: amqpURL, simURL: sim.baseURL,
                trustedKeys: dir.appendingPathComponent("trusted-keys.json"),
                drainSeconds: 2,
                extraEnvironment: ["BREAKGLASS_TRACING_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)/v1/traces"])
            defer { _ = worker.terminate() }
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(60)) { worker.readyStatus() == 200 },
                "\(worker.logText.suffix(2000))")
            let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
            let producerSpan = "00f067aa0ba902b7"
            let (body, header) = WorkerProcessTests.signedRequest(signer: signer, requestID: "REQ-IT-TRACE")
            try await connection.publish(
                AMQPMessage(
                    body: body,
                    properties: .persistent(
                        messageID: "REQ-IT-TRACE",
                        headers: [
                            "x-breakglass-signature": .string(header),
                            "traceparent": .string("00-\(traceID)-\(producerSpan)-01"),
                        ])),
                exchange: "breakglass.requests", routingKey: "restoration.approved")
            // The root, and the two events' publish spans (they come after the decision).
            #expect(
                try await TestEnvironment.waitUntil(timeout: .seconds(90)) {
                    let spans = receiver.spans()
                    return spans.contains { $0.name == "breakglass.restoration process" }
                        && spans.filter { $0.name == "publish" }.count >= 2
                }, "spans: \(receiver.spans().map(\.name))\n\(worker.logText.suffix(1500))")
            let spans = receiver.spans().filter { $0.traceID == traceID }
            let root = try #require(spans.first { $0.name == "breakglass.restoration process" })
            #expect(root.parent == producerSpan, "the worker continues the producer's span")
            #expect(root.kind == 5)
            func children(of span: Span) -> [String] { spans.filter { $0.parent == span.id }.map(\.name) }
            for stage in ["verify", "claim", "gate", "console", "decision"] {
                #expect(children(of: root).contains(stage), "\(stage) under the request's span: \(children(of: root))")
            }
            let gate = try #require(spans.first { $0.name == "gate" })
            #expect(
                Set(children(of: gate)) == [
                    "gate.source case", "gate.source tenant", "gate.source incident",
                    "gate.source identity", "gate.source iam-admin-state",
                ])
            let console = try #require(spans.first { $0.name == "console" })
            let underConsole = children(of: console)
            #expect(underConsole.contains { $0.hasPrefix("console.screen ") }, "\(underConsole)")
            for name in ["recheck", "submitting", "console.click", "iam-check"] {
                #expect(underConsole.contains(name), "\(name) under console: \(underConsole)")
            }
            #expect(
                spans.filter { $0.name == "publish" }.allSatisfy { $0.parent == root.id },
                "publish spans continue the events' traceparent")
            #expect(spans.allSatisfy { $0.service == "breakglass-worker" })
        }
    }

    struct Span {
        let traceID: String
        let id: String
        let parent: String?
        let name: String
        let kind: Int
        let service: String?
    }

    /// A minimal OTLP/HTTP (JSON) receiver: accepts POSTs, keeps every span, answers 200.
    final class OTLPReceiver: @unchecked Sendable {
        let fd: Int32
        let port: Int
        private let received = Mutex<[Span]>([])
        private let stopped = Mutex(false)
        private var thread: Thread?

        init() throws {
            (fd, port) = try LoopbackSocket.listen()
            let thread = Thread { [self] in serve() }
            self.thread = thread
            thread.start()
        }

        func spans() -> [Span] { received.withLock { $0 } }

        func stop() {
            stopped.withLock { $0 = true }
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }

        private func serve() {
            while !stopped.withLock({ $0 }) {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { break }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                handle(client)
                close(client)
            }
        }

        private func handle(_ client: Int32) {
            var data = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var bodyStart: Int?
            var contentLength = 0
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress!, 65_536, 0) }
                guard n > 0 else { break }
                data += buffer[0..<n]
                if bodyStart == nil, let end = Self.find([13, 10, 13, 10], in: data) {
                    bodyStart = end + 4
                    let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                    for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                        contentLength =
                            Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
                if let start = bodyStart, data.count - start >= contentLength { break }
            }
            let reply =
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            _ = reply.withCString { send(client, $0, strlen($0), 0) }
            guard let start = bodyStart, data.count >= start + contentLength else { return }
            parse(Data(data[start..<(start + contentLength)]))
        }

        private func parse(_ body: Data) {
            guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                let resources = object["resourceSpans"] as? [[String: Any]]
            else { return }
            var spans: [Span] = []
            for resource in resources {
                let attributes = ((resource["resource"] as? [String: Any])?["attributes"] as? [[String: Any]]) ?? []
                let service = attributes.first { $0["key"] as? String == "service.name" }
                    .flatMap { ($0["value"] as? [String: Any])?["stringValue"] as? String }
                for scope in (resource["scopeSpans"] as? [[String: Any]]) ?? [] {
                    for span in (scope["spans"] as? [[String: Any]]) ?? [] {
                        spans.append(
                            Span(
                                traceID: span["traceId"] as? String ?? "", id: span["spanId"] as? String ?? "",
                                parent: span["parentSpanId"] as? String, name: span["name"] as? String ?? "",
                                kind: span["kind"] as? Int ?? 0, service: service))
                    }
                }
            }
            received.withLock { $0 += spans }
        }

        static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
            guard haystack.count >= needle.count else { return nil }
            for index in 0...(haystack.count - needle.count)
            where Array(haystack[index..<(index + needle.count)]) == needle {
                return index
            }
            return nil
        }
    }
}
