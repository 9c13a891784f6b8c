import CRabbitMQ

/// What came back for a synchronous method (an RPC), or what the broker sent on its own to end a channel or the
/// connection: the one place that turns either into an `AMQPError` (and, during the handshake, into the
/// distinct connect errors of `AMQPConnectFailure`).
///
/// Pure: the I/O thread decodes the library's reply into this value (`CBridge.reply(_:)`); tested alone.
enum AMQPBrokerReply: Sendable, Equatable {
    /// The expected answer.
    case normal
    /// `channel.close` from the broker: a channel error (404 NOT_FOUND, 406 PRECONDITION_FAILED, ...).
    case channelClose(replyCode: UInt16, replyText: String)
    /// `connection.close` from the broker (320 CONNECTION_FORCED, 403 ACCESS_REFUSED, 530 NOT_ALLOWED, ...).
    /// The driver answers it with `connection.close-ok`.
    case connectionClose(replyCode: UInt16, replyText: String)
    /// The broker answered with a method that is neither the expected one nor a close.
    case unexpectedServerMethod
    /// The library failed (socket error, timeout, heartbeat timeout, ...) with this status.
    case libraryFailure(status: Int32)
    /// No reply at all.
    case none

    /// The error for this reply to `what` ("declare", "basic.consume", ...); nil for `.normal`.
    func error(during what: String) -> AMQPError? {
        switch self {
        case .normal:
            return nil
        case .channelClose(let replyCode, let replyText):
            return AMQPError.brokerClosed(replyCode: replyCode, reason: replyText)
        case .connectionClose(let replyCode, let replyText):
            return AMQPError(code: .connectionLost, replyCode: replyCode, reason: replyText)
        case .unexpectedServerMethod:
            return AMQPError.protocolError("\(what): unexpected server reply")
        case .libraryFailure(let status):
            return Self.statusError(status)
        case .none:
            return AMQPError.protocolError("\(what): no reply")
        }
    }

    /// Whether the broker closed the connection (the driver must send `connection.close-ok`).
    var isConnectionClose: Bool {
        if case .connectionClose = self { return true }
        return false
    }

    /// The error for a failed login: a refused user (403), a missing vhost (530), a peer that is not AMQP...
    /// (see `AMQPConnectFailure`); nil for `.normal`.
    func loginError(url: AMQPURL, handshakeTimeout: Duration) -> AMQPError? {
        guard let error = error(during: "login") else { return nil }
        return AMQPConnectFailure.error(
            .init(
                stage: .handshake, libraryStatus: error.libraryStatus, replyCode: error.replyCode,
                replyText: error.replyCode == nil ? nil : error.reason),
            url: url, handshakeTimeout: handshakeTimeout)
    }

    /// A failed library call: heartbeat timeout, timeout, or a lost connection, with the library's text.
    static func statusError(_ status: Int32) -> AMQPError {
        let reason = String(cString: amqp_error_string2(status))
        switch status {
        case AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue:
            return AMQPError(code: .heartbeatTimeout, reason: reason, libraryStatus: status)
        case AMQP_STATUS_TIMEOUT.rawValue: return AMQPError(code: .timeout, reason: reason, libraryStatus: status)
        default: return AMQPError.connectionLost(reason, status: status)
        }
    }

    /// The error for a library status, nil for `AMQP_STATUS_OK`.
    static func statusError(ifFailed status: Int32) -> AMQPError? {
        status == AMQP_STATUS_OK.rawValue ? nil : statusError(status)
    }
}
