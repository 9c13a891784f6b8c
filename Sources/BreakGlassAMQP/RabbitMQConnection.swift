import CRabbitMQ
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// One rabbitmq-c connection: the calls into the library, nothing else. Owned and used by the connection's I/O
/// thread only (the library is not thread-safe). Replies and statuses become errors through `AMQPBrokerReply`.
///
/// Channel 1 carries consumers (qos + basic.consume), channel 2 publishes in confirm mode, channel 3 runs
/// declarations and queue operations so that a refused declaration (channel error) never disturbs the others.
final class RabbitMQConnection {
    static let consumerChannel: amqp_channel_t = 1
    static let publishChannel: amqp_channel_t = 2
    static let operationChannel: amqp_channel_t = 3

    let state: amqp_connection_state_t
    private var destroyed = false

    private init(state: amqp_connection_state_t) {
        self.state = state
    }

    deinit { destroy() }

    /// Frees the library connection (closing its socket without a `connection.close`).
    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        amqp_destroy_connection(state)
    }

    /// Sends `connection.close` (waiting for close-ok up to the rpc timeout), then frees the connection.
    func closeGracefully() {
        guard !destroyed else { return }
        _ = amqp_connection_close(state, AMQP_REPLY_SUCCESS)
        destroy()
    }

    /// Opens the socket (TCP or TLS) to `url` (one node of the configuration's endpoints), logs in, opens the three channels and puts the publish channel in confirm
    /// mode. Socket and login failures become the distinct errors of `AMQPConnectFailure`.
    static func open(_ configuration: AMQPConnection.Configuration, url: AMQPURL) throws -> RabbitMQConnection {
        guard let state = amqp_new_connection() else { throw AMQPError.connectionFailed("out of memory") }
        let connection = RabbitMQConnection(state: state)
        let socket: OpaquePointer?
        if url.tls {
            guard let ssl = amqp_ssl_socket_new(state) else { throw AMQPError.tlsFailure("cannot create TLS socket") }
            socket = ssl
            try checkTLS(amqp_ssl_socket_set_ssl_versions(ssl, AMQP_TLSv1_2, AMQP_TLSvLATEST), "TLS versions")
            try checkTLS(amqp_ssl_socket_set_cacert(ssl, configuration.tls.caFile ?? ""), "CA file")
            if let certificate = configuration.tls.certificateFile, let key = configuration.tls.keyFile {
                try checkTLS(amqp_ssl_socket_set_key(ssl, certificate, key), "client certificate")
            }
            amqp_ssl_socket_set_verify_peer(ssl, 1)
            amqp_ssl_socket_set_verify_hostname(ssl, 1)
        } else {
            socket = amqp_tcp_socket_new(state)
        }
        guard let socket else { throw AMQPError.connectionFailed("cannot create socket") }
        var connectTimeout = makeTimeval(configuration.connectTimeout)
        let opened = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &connectTimeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            // rabbitmq-c keeps the socket's own error to itself (its errno is the non-blocking EINPROGRESS): one plain
            // connect to the same address tells a refused port from an unreachable host.
            let osError = opened == AMQP_STATUS_SOCKET_ERROR.rawValue ? connectErrno(host: url.host, port: url.port) : 0
            throw AMQPConnectFailure.error(
                .init(stage: .socket, libraryStatus: opened, osError: osError), url: url,
                handshakeTimeout: configuration.handshakeTimeout)
        }
        var handshake = makeTimeval(configuration.handshakeTimeout)
        var rpc = makeTimeval(configuration.rpcTimeout)
        _ = amqp_set_handshake_timeout(state, &handshake)
        _ = amqp_set_rpc_timeout(state, &rpc)
        let login = CBridge.reply(
            bg_amqp_login_plain_with_capabilities(
                state, url.virtualHost, 16, configuration.frameMax, configuration.heartbeatSeconds,
                url.user, url.password, configuration.connectionName))
        if login.isConnectionClose { connection.sendConnectionCloseOk() }
        if let error = login.loginError(url: url, handshakeTimeout: configuration.handshakeTimeout) { throw error }
        for channel in [consumerChannel, publishChannel, operationChannel] {
            amqp_channel_open(state, channel)
            try connection.checkReply("channel.open")
        }
        amqp_confirm_select(state, publishChannel)
        try connection.checkReply("confirm.select")
        return connection
    }

    // MARK: Replies

    /// Throws the error for the reply to the last synchronous method (`what` names it); answers a broker's
    /// `connection.close` with close-ok first.
    func checkReply(_ what: String) throws {
        let reply = CBridge.reply(amqp_get_rpc_reply(state))
        if reply.isConnectionClose { sendConnectionCloseOk() }
        if let error = reply.error(during: what) { throw error }
    }

    func check(_ status: Int32) throws {
        if let error = AMQPBrokerReply.statusError(ifFailed: status) { throw error }
    }

    private static func checkTLS(_ status: Int32, _ what: String) throws {
        guard status == AMQP_STATUS_OK.rawValue else {
            throw AMQPError.tlsFailure("\(what): \(String(cString: amqp_error_string2(status)))", status: status)
        }
    }

    func sendConnectionCloseOk() {
        var ok = amqp_connection_close_ok_t(dummy: 0)
        _ = amqp_send_method(state, 0, BG_AMQP_CONNECTION_CLOSE_OK_METHOD, &ok)
    }

    // MARK: Frames

    var socketFD: Int32 { amqp_get_sockfd(state) }

    /// The next frame if one is already readable (without blocking): false when there is none. Services
    /// heartbeats; throws when the connection is lost or the heartbeat timed out.
    func nextFrame(_ frame: inout amqp_frame_t) throws -> Bool {
        var zero = timeval(tv_sec: 0, tv_usec: 0)
        let status = amqp_simple_wait_frame_noblock(state, &frame, &zero)
        if status == AMQP_STATUS_TIMEOUT.rawValue { return false }
        try check(status)
        return true
    }

    /// Gives the decoding pools back once no frame is queued (frames borrow from them).
    func releaseBuffersIfIdle() {
        if amqp_frames_enqueued(state) == 0 { amqp_maybe_release_buffers(state) }
    }

    // MARK: Helpers

    static func makeTimeval(_ duration: Duration) -> timeval {
        let components = duration.components
        return timeval(tv_sec: Int(components.seconds), tv_usec: Int(components.attoseconds / 1_000_000_000_000))
    }

    static func bytes(_ buffer: UnsafeBufferPointer<UInt8>) -> amqp_bytes_t {
        amqp_bytes_t(
            len: buffer.count, bytes: buffer.count == 0 ? nil : UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    static func bytes(_ buffer: UnsafeRawBufferPointer) -> amqp_bytes_t {
        amqp_bytes_t(
            len: buffer.count, bytes: buffer.count == 0 ? nil : UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    /// The OS error of one TCP connect to `host:port` (waiting at most 2 s), 0 when it connects or cannot be told.
    static func connectErrno(host: String, port: Int) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &found) == 0, let info = found else { return 0 }
        defer { freeaddrinfo(found) }
        let fd = Glibc.socket(
            info.pointee.ai_family, info.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.pointee.ai_protocol)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, 2000) == 1 else { return ETIMEDOUT }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error
    }
}
