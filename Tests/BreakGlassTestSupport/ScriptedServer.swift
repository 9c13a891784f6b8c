import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// A tiny misbehaving HTTP server for clients' failure paths (the live sources, WebDriver): every GET and POST goes to
/// `handler`, which decides the status, body and content type (or hangs). Runs on a free loopback port for the
/// duration of `body`.
public enum ScriptedServer {
    public struct Answer: Sendable {
        public var status: Int
        public var body: String
        public var contentType: String = "application/json"
        /// Sends the body one byte at a time with this pause between bytes (a slow-drip source).
        public var dripInterval: Duration?

        public init(status: Int, body: String, contentType: String = "application/json", dripInterval: Duration? = nil)
        {
            self.status = status
            self.body = body
            self.contentType = contentType
            self.dripInterval = dripInterval
        }

        public static func json(_ body: String) -> Answer { Answer(status: 200, body: body) }
        public static func status(_ code: Int) -> Answer { Answer(status: code, body: #"{"error":"x"}"#) }
    }

    public static func with<R>(
        _ handler: @escaping @Sendable (_ path: String, _ authorization: String?) async -> Answer,
        _ body: (_ baseURL: String) async throws -> R
    ) async throws -> R {
        let router = Router(context: BasicRequestContext.self)
        let respond: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let answer = await handler(request.uri.path, request.headers[.authorization])
            var headers = HTTPFields()
            headers[.contentType] = answer.contentType
            if let interval = answer.dripInterval {
                let bytes = Array(answer.body.utf8)
                return Response(
                    status: .init(code: answer.status), headers: headers,
                    body: .init { writer in
                        for byte in bytes {
                            try await writer.write(ByteBuffer(bytes: [byte]))
                            try await Task.sleep(for: interval)
                        }
                        try await writer.finish(nil)
                    })
            }
            return Response(
                status: .init(code: answer.status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.get("**", use: respond)
        router.post("**", use: respond)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: Logger(label: "test.scripted", factory: { _ in SwiftLogNoOpLogHandler() }))
        // Stopped by a graceful shutdown, not by cancelling its task: cancelling can drop a connection the server
        // accepted but had not started serving, and swift-nio traps on that in debug builds ("Deinited
        // NIOAsyncWriter without calling finish()", apple/swift-nio#2637), killing the whole test process.
        let quiet = Logger(label: "test.scripted", factory: { _ in SwiftLogNoOpLogHandler() })
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: quiet))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await serviceGroup.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                group.cancelAll()
                throw CancellationError()
            }
            let result: Result<R, any Error>
            do {
                result = .success(try await body("http://127.0.0.1:\(port)"))
            } catch {
                result = .failure(error)
            }
            await serviceGroup.triggerGracefulShutdown()
            // A handler told to hang keeps a graceful shutdown waiting: after 3 s (no client is left by then), cancel.
            group.addTask {
                try? await Task.sleep(for: .seconds(3))
                throw CancellationError()
            }
            _ = try? await group.next()
            group.cancelAll()
            return try result.get()
        }
    }
}
