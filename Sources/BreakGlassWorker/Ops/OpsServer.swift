import Foundation
public import Hummingbird
public import Logging
import ServiceLifecycle

/// The ops HTTP server: `/livez` (the process answers), `/readyz` (every readiness check passes; 503 with the
/// failing checks otherwise) and `/metrics` (Prometheus text). It binds to loopback by default.
public struct OpsServer: Sendable {
    public struct Configuration: Sendable {
        /// Address to bind. Default 127.0.0.1.
        public var host: String = "127.0.0.1"
        /// Port; 0 picks a free one (see ``onBound``). Default 9090.
        public var port: Int = 9090

        public init(host: String = "127.0.0.1", port: Int = 9090) {
            self.host = host
            self.port = port
        }
    }

    public static func application(
        configuration: Configuration,
        probes: [any ReadinessProbe],
        status: StatusAPI? = nil,
        logger: Logger,
        onBound: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("livez") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            var checks: [Readiness.Check] = []
            for probe in probes { checks += await probe.check() }
            let readiness = Readiness(checks: checks)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let body = (try? encoder.encode(readiness)) ?? Data("{\"ready\":false}".utf8)
            return Response(
                status: readiness.ready ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body))
            )
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(string: MetricsBootstrap.prometheusText()))
            )
        }
        status?.register(on: router)
        return Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "breakglass-ops"),
            onServerRunning: { channel in await onBound(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }
}
