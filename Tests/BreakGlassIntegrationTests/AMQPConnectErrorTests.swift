import BreakGlassAMQP
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
    import Glibc
#endif

/// Broker failures an on-call person can tell apart (issue 18.2): a refused login, a missing virtual host, a closed
/// port and a peer that is not an AMQP broker each end in their own error code, with the host and port in the reason
/// and never the password. Against the real RabbitMQ (and two plain TCP listeners for the "not AMQP" cases).
@Suite(.enabled(if: TestEnvironment.hasRabbitMQ, Comment(rawValue: TestEnvironment.skipHint)))
struct AMQPConnectErrorTests {
    static func failure(url: String) async throws -> AMQPError {
        let configuration = try AMQPTestSupport.configuration(url: url)
        let connection = try AMQPConnection(configuration: configuration)
        defer { Task { await connection.close() } }
        do {
            try await connection.waitUntilReady(timeout: .seconds(6))
        } catch let error as AMQPError {
            await connection.close()
            return error
        }
        await connection.close()
        Issue.record("connected, but a failure was expected")
        return AMQPError(code: .protocolError)
    }

    static var base: URLComponents {
        URLComponents(string: TestEnvironment.amqpURL ?? "amqp://guest:guest@127.0.0.1:5672/")!
    }

    @Test("a wrong password is authentication-refused (403), naming host and port, never the password")
    func wrongPassword() async throws {
        var url = Self.base
        url.password = "not-the-password-5d1"
        let error = try await Self.failure(url: url.string!)
        #expect(error.code == .authenticationRefused, "\(error.code) \(error.reason ?? "")")
        #expect(error.replyCode == 403)
        #expect(error.reason?.contains("\(url.host!):\(url.port!)") == true)
        #expect(error.reason?.contains("not-the-password-5d1") == false)
    }

    @Test("a virtual host that does not exist is vhost-not-found (530)")
    func wrongVirtualHost() async throws {
        var url = Self.base
        url.path = "/no-such-vhost"
        let error = try await Self.failure(url: url.string!)
        #expect(error.code == .virtualHostNotFound, "\(error.code) \(error.reason ?? "")")
        #expect(error.replyCode == 530)
        #expect(error.reason?.contains("no-such-vhost") == true)
    }

    @Test("a closed port is connection-refused")
    func closedPort() async throws {
        var url = Self.base
        url.port = try Self.closedPort()
        let error = try await Self.failure(url: url.string!)
        #expect(error.code == .connectionRefused, "\(error.code) \(error.reason ?? "")")
        #expect(error.reason?.contains("127.0.0.1:\(url.port!)") == true)
    }

    @Test(
        "a port that answers like a web server is not-amqp",
        arguments: [
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "",  // accepts and says nothing: the handshake timeout
        ])
    func notAMQP(answer: String) async throws {
        let listener = try PlainListener(answer: answer)
        defer { listener.stop() }
        var url = Self.base
        url.host = "127.0.0.1"
        url.port = listener.port
        let error = try await Self.failure(url: url.string!)
        #expect(error.code == .notAMQP, "\(error.code) \(error.reason ?? "")")
        #expect(error.reason?.contains("127.0.0.1:\(listener.port)") == true)
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let listener = try PlainListener(answer: "")
        let port = listener.port
        listener.stop()
        return port
    }
}

/// A loopback TCP listener that answers each connection with `answer` and closes it (or, for an empty answer, holds
/// it open silently until stopped).
final class PlainListener: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private let stopped = Mutex(false)
    private var thread: Thread?

    init(answer: String) throws {
        (fd, port) = try LoopbackSocket.listen()
        let thread = Thread { [self] in serve(answer: answer) }
        self.thread = thread
        thread.start()
    }

    private func serve(answer: String) {
        var held: [Int32] = []
        while !stopped.withLock({ $0 }) {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { break }
            if answer.isEmpty {
                held.append(client)
            } else {
                var buffer = [UInt8](repeating: 0, count: 64)
                _ = recv(client, &buffer, 64, 0)
                _ = answer.withCString { send(client, $0, strlen($0), 0) }
                close(client)
            }
        }
        for client in held { close(client) }
    }

    func stop() {
        stopped.withLock { $0 = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
