public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// Starts chromedriver on a free loopback port, waits until it is ready, restarts it (with backoff) when it
/// exits, and stops it on shutdown. Used when no WebDriver URL is configured.
public final class ChromedriverSupervisor: Service, Sendable {
    public struct Configuration: Sendable {
        /// The chromedriver binary. Default `/usr/bin/chromedriver`.
        public var binary: String = "/usr/bin/chromedriver"
        /// Port; 0 picks a free one. Default 0.
        public var port: Int = 0
        /// Bound on waiting for `/status` to say ready. Default 20 s.
        public var startTimeout: Duration = .seconds(20)

        public init(binary: String = "/usr/bin/chromedriver", port: Int = 0) {
            self.binary = binary
            self.port = port
        }
    }

    let configuration: Configuration
    let logger: Logger
    private let state = Mutex<(process: Process?, url: URL?)>((nil, nil))
    private let readyWaiters = Mutex<[CheckedContinuation<URL, any Error>]>([])

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The WebDriver URL of the running chromedriver, nil while it is (re)starting.
    public var url: URL? { state.withLock { $0.url } }

    /// Waits until chromedriver is ready and returns its URL.
    public func waitUntilReady(timeout: Duration = .seconds(30)) async throws -> URL {
        let clock = ContinuousClock()
        let end = clock.now.advanced(by: timeout)
        while clock.now < end {
            if let url { return url }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SupervisorError(detail: "chromedriver did not become ready")
    }

    public func run() async throws {
        var failures = 0
        await withTaskCancellationOrGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    let process = try self.launch()
                    failures = 0
                    await Self.waitForExit(process)
                    self.state.withLock { $0 = (nil, nil) }
                    if Task.isCancelled || Task.isShuttingDownGracefully { break }
                    self.logger.warning("chromedriver exited; restarting", metadata: ["breakglass.exit_status": "\(process.terminationStatus)"])
                } catch {
                    failures += 1
                    self.logger.error("chromedriver could not start", metadata: ["breakglass.failures": "\(failures)"])
                }
                let delay = min(30, 1 << min(failures, 5))
                try? await Task.sleep(for: .seconds(delay))
            }
        } onCancelOrGracefulShutdown: {
            self.stop()
        }
        stop()
    }

    private func launch() throws -> Process {
        let port = configuration.port == 0 ? Self.freePort() : configuration.port
        let process = Process()
        process.executableURL = URL(fileURLWithPath: configuration.binary)
        process.arguments = ["--port=\(port)", "--allowed-ips=127.0.0.1", "--log-level=WARNING"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let url = URL(string: "http://127.0.0.1:\(port)")!
        state.withLock { $0 = (process, nil) }
        // Ready when /status answers; bounded.
        let deadline = Date().addingTimeInterval(Double(configuration.startTimeout.components.seconds))
        while Date() < deadline, process.isRunning {
            if Self.statusReady(url) {
                state.withLock { $0 = (process, url) }
                logger.info("chromedriver ready", metadata: ["breakglass.webdriver_port": "\(port)"])
                return process
            }
            usleep(50_000)
        }
        process.terminate()
        throw SupervisorError(detail: "chromedriver did not answer /status")
    }

    private func stop() {
        let process = state.withLock { current -> Process? in
            let process = current.process
            current = (nil, nil)
            return process
        }
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    private static func waitForExit(_ process: Process) async {
        while process.isRunning {
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    static func statusReady(_ url: URL) -> Bool {
        // A raw HTTP/1.0 request over a socket: no dependency on URLSession's threads during start-up.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(url.port ?? 80).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = "GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        let capacity = 4096
        var buffer = [UInt8](repeating: 0, count: capacity)
        var received = 0
        while received < capacity {
            let offset = received
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + offset, capacity - offset, 0) }
            if n <= 0 { break }
            received += n
        }
        let text = String(decoding: buffer[0..<received], as: UTF8.self)
        return text.contains("\"ready\": true") || text.contains("\"ready\":true")
    }

    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: bound.sin_port))
    }

    public struct SupervisorError: Error, CustomStringConvertible {
        public var detail: String
        public var description: String { detail }
    }
}
