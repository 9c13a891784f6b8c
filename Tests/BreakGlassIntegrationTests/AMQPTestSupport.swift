import BreakGlassAMQP
import Foundation
import Logging
#if canImport(Glibc)
    import Glibc
#endif

/// Helpers for the AMQP integration tests (real RabbitMQ).
enum AMQPTestSupport {
    static func uniqueName(_ prefix: String) -> String {
        "test.\(prefix).\(UUID().uuidString.prefix(8).lowercased())"
    }

    static func configuration(
        url: String? = TestEnvironment.amqpURL, heartbeat: Duration = .seconds(30)
    ) throws
        -> AMQPConnection.Configuration
    {
        var configuration = try AMQPConnection.Configuration(url: url ?? "amqp://guest:guest@127.0.0.1:5672/")
        configuration.heartbeat = heartbeat
        configuration.connectTimeout = .seconds(3)
        configuration.handshakeTimeout = .seconds(3)
        configuration.rpcTimeout = .seconds(5)
        configuration.reconnect.initialDelay = .milliseconds(100)
        configuration.reconnect.maximumDelay = .seconds(1)
        configuration.connectionName = "breakglass-tests"
        return configuration
    }

    static func connect(_ configuration: AMQPConnection.Configuration) async throws -> AMQPConnection {
        var logger = Logger(label: "breakglass.amqp.test")
        logger.logLevel = ProcessInfo.processInfo.environment["BREAKGLASS_TEST_AMQP_LOG"] == "1" ? .debug : .warning
        let connection = try AMQPConnection(configuration: configuration, logger: logger)
        try await connection.waitUntilReady(timeout: .seconds(30))
        return connection
    }

    static func message(_ text: String, id: String? = nil, headers: [String: AMQPFieldValue] = [:]) -> AMQPMessage {
        AMQPMessage(body: Array(text.utf8), properties: .persistent(messageID: id, headers: headers))
    }

    /// Starts the shared test broker again after a test stopped it. `scripts/rabbitmq-node start DIR` needs the
    /// AMQP port, which is taken from BREAKGLASS_TEST_AMQP_URL.
    static func startSharedBroker() throws {
        guard let script = TestEnvironment.rabbitMQNodeScript, let directory = TestEnvironment.rabbitMQDir,
            let url = TestEnvironment.amqpURL
        else {
            throw TestEnvironmentError.missing("BREAKGLASS_TEST_RABBITMQ_NODE_SCRIPT / _DIR / BREAKGLASS_TEST_AMQP_URL")
        }
        let port = try AMQPURL(parsing: url).port
        let status = shell([script, "start", directory, String(port)])
        guard status == 0 else { throw TestEnvironmentError.commandFailed("rabbitmq-node start", status) }
    }

    /// Runs a command through /bin/sh and waits with waitpid. Used for commands that leave a daemon behind
    /// (`rabbitmq-node start`): Foundation's `Process.waitUntilExit` can hang when the daemon inherits its
    /// descriptors.
    @discardableResult
    static func shell(_ arguments: [String]) -> Int32 {
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(
            separator: " ")
        let status = system("\(quoted) </dev/null >/dev/null 2>&1")
        return status == -1 ? -1 : (status >> 8) & 0xff
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (checked by binding it).
    static func freePort(in range: ClosedRange<Int> = 26_000...29_000, alsoFree offsets: [Int] = []) -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: range)
            if ([0] + offsets).allSatisfy({ canBind(port + $0) }) { return port }
        }
        return Int.random(in: range)
    }

    static func canBind(_ port: Int) -> Bool {
        loopback(port) { fd, address, length in bind(fd, address, length) }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(_ port: Int) -> Bool {
        loopback(port) { fd, address, length in Glibc.connect(fd, address, length) }
    }

    /// `call` (bind, connect) on a fresh TCP socket with 127.0.0.1:`port`; true when it returned 0.
    private static func loopback(_ port: Int, _ call: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

}
