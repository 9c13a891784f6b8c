import AsyncHTTPClient
import BreakGlassCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Exports finished spans as OTLP/HTTP with JSON encoding (`POST …/v1/traces`, `application/json`), batched every
/// second; off unless `tracing.otlp_endpoint` is set. A collector that is down costs spans, never the worker: at most
/// `capacity` spans wait (the oldest are dropped and counted), and a failed POST is logged and its batch dropped.
final class OTLPExporter: SpanRecorder, Service, Sendable {
    struct Configuration: Sendable {
        var endpoint: String
        var serviceName: String
        var instanceID: String
        var interval: Duration = .seconds(1)
        var capacity = 10_000
    }

    let configuration: Configuration
    let logger: Logger
    private let state = Mutex<(spans: [SpanData], dropped: Int)>(([], 0))

    init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    func record(_ span: SpanData) {
        state.withLock { state in
            if state.spans.count >= configuration.capacity {
                state.spans.removeFirst()
                state.dropped += 1
            }
            state.spans.append(span)
        }
    }

    func run() async throws {
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: self.configuration.interval)
                await self.flush(http)
            }
        }
        await flush(http)
        try? await http.shutdown()
    }

    func flush(_ http: HTTPClient) async {
        let (batch, dropped) = state.withLock { state in
            defer {
                state.spans.removeAll(keepingCapacity: true)
                state.dropped = 0
            }
            return (state.spans, state.dropped)
        }
        if dropped > 0 {
            logger.warning(
                "spans dropped: the OTLP endpoint did not keep up",
                metadata: ["breakglass.spans_dropped": .stringConvertible(dropped)])
        }
        guard !batch.isEmpty else { return }
        var request = HTTPClientRequest(url: configuration.endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: Self.payload(batch, configuration: configuration)))
        do {
            let response = try await http.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if response.status.code >= 300 {
                logger.warning(
                    "OTLP endpoint refused a batch of spans",
                    metadata: [
                        "breakglass.otlp.status": "\(response.status.code)",
                        "breakglass.spans": .stringConvertible(batch.count),
                    ])
            }
        } catch {
            logger.warning(
                "OTLP endpoint unreachable; a batch of spans is lost",
                metadata: [
                    "breakglass.otlp.endpoint": "\(configuration.endpoint)", "breakglass.error": "\(type(of: error))",
                    "breakglass.spans": .stringConvertible(batch.count),
                ])
        }
    }

    /// The OTLP/JSON `ExportTraceServiceRequest` for `spans` (ids hex-encoded, times as decimal strings).
    static func payload(_ spans: [SpanData], configuration: Configuration) -> Data {
        func attribute(_ key: String, _ value: SpanData.Value) -> [String: Any] {
            switch value {
            case .string(let text): ["key": key, "value": ["stringValue": text]]
            case .int(let number): ["key": key, "value": ["intValue": String(number)]]
            case .bool(let flag): ["key": key, "value": ["boolValue": flag]]
            }
        }
        func nanos(_ date: Date) -> String { String(UInt64(max(0, date.timeIntervalSince1970) * 1_000_000_000)) }
        let kinds: [SpanData.Kind: Int] = [.internal: 1, .client: 3, .producer: 4, .consumer: 5]
        let encoded: [[String: Any]] = spans.map { span in
            var object: [String: Any] = [
                "traceId": span.traceID, "spanId": span.spanID, "name": span.name, "kind": kinds[span.kind] ?? 1,
                "startTimeUnixNano": nanos(span.start), "endTimeUnixNano": nanos(span.end),
                "attributes": span.attributes.keys.sorted().map { attribute($0, span.attributes[$0]!) },
                "status": span.error.map { ["code": 2, "message": $0] as [String: Any] } ?? ["code": 1],
            ]
            if let parent = span.parentSpanID { object["parentSpanId"] = parent }
            return object
        }
        let body: [String: Any] = [
            "resourceSpans": [
                [
                    "resource": [
                        "attributes": [
                            attribute("service.name", .string(configuration.serviceName)),
                            attribute("service.instance.id", .string(configuration.instanceID)),
                            attribute("service.version", .string(BuildInfo.version)),
                        ]
                    ],
                    "scopeSpans": [["scope": ["name": "breakglass", "version": BuildInfo.version], "spans": encoded]],
                ]
            ]
        ]
        return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    }
}
