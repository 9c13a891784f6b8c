/// Every failure of the AMQP transport.
///
/// `description` stays generic (code only); details that may echo broker or user data are kept in separate
/// fields (`replyCode`, `reason`, `libraryStatus`) for callers that decide what to record. Never holds the
/// password of a URL.
public struct AMQPError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, stable for programmatic handling.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The URL is not a valid `amqp://` or `amqps://` URL.
        public static let invalidURL = Code("invalid-url")
        /// A configuration value is out of range (e.g. a heartbeat of 0).
        public static let invalidConfiguration = Code("invalid-configuration")
        /// TCP connect, TLS handshake or AMQP handshake/login failed.
        public static let connectionFailed = Code("connection-failed")
        /// Nothing listens on the broker's host and port (the TCP connection was refused).
        public static let connectionRefused = Code("connection-refused")
        /// The broker refused the user or password (403 ACCESS_REFUSED).
        public static let authenticationRefused = Code("authentication-refused")
        /// The virtual host does not exist or the user may not use it (530 NOT_ALLOWED).
        public static let virtualHostNotFound = Code("vhost-not-found")
        /// The peer answered, but not as an AMQP 0-9-1 broker (wrong port, another service, no handshake in time).
        public static let notAMQP = Code("not-amqp")
        /// TLS set-up failed (CA file, client certificate, verification).
        public static let tlsFailure = Code("tls-failure")
        /// The connection was lost (socket error, closed by the peer).
        public static let connectionLost = Code("connection-lost")
        /// No frame from the broker within twice the heartbeat interval.
        public static let heartbeatTimeout = Code("heartbeat-timeout")
        /// An operation did not complete within its configured timeout.
        public static let timeout = Code("timeout")
        /// The broker closed a channel or the connection with an error (see `replyCode`, `reason`).
        public static let brokerClosed = Code("broker-closed")
        /// The broker refused a publish (`basic.nack`).
        public static let publishNacked = Code("publish-nacked")
        /// The broker returned a mandatory publish as unroutable (`basic.return`).
        public static let publishReturned = Code("publish-returned")
        /// A delivery from an earlier connection cannot be settled on the current one.
        public static let staleDelivery = Code("stale-delivery")
        /// The delivery was already acked, nacked or rejected.
        public static let alreadySettled = Code("already-settled")
        /// The broker cancelled the consumer (queue deleted, node shut down, ...).
        public static let consumerCancelled = Code("consumer-cancelled")
        /// The operation needs a live connection and there is none right now.
        public static let notConnected = Code("not-connected")
        /// The connection was closed by the application.
        public static let closed = Code("closed")
        /// The library reported an unexpected protocol state.
        public static let protocolError = Code("protocol-error")
    }

    public var code: Code
    /// The broker's reply code (e.g. 404, 406) when the broker closed a channel or the connection.
    public var replyCode: UInt16?
    /// The broker's reply text or the library's error string; may echo names, never the password.
    public var reason: String?
    /// The rabbitmq-c status code, when the failure came from the library.
    public var libraryStatus: Int32?

    public init(code: Code, replyCode: UInt16? = nil, reason: String? = nil, libraryStatus: Int32? = nil) {
        self.code = code
        self.replyCode = replyCode
        self.reason = reason
        self.libraryStatus = libraryStatus
    }

    public var description: String { "AMQP error: \(code.rawValue)" }

    public static func invalidURL(_ reason: String) -> AMQPError { AMQPError(code: .invalidURL, reason: reason) }
    public static func invalidConfiguration(_ reason: String) -> AMQPError {
        AMQPError(code: .invalidConfiguration, reason: reason)
    }
    public static func connectionFailed(_ reason: String, status: Int32? = nil) -> AMQPError {
        AMQPError(code: .connectionFailed, reason: reason, libraryStatus: status)
    }
    public static func tlsFailure(_ reason: String, status: Int32? = nil) -> AMQPError {
        AMQPError(code: .tlsFailure, reason: reason, libraryStatus: status)
    }
    public static func connectionLost(_ reason: String, status: Int32? = nil) -> AMQPError {
        AMQPError(code: .connectionLost, reason: reason, libraryStatus: status)
    }
    public static func heartbeatTimeout() -> AMQPError { AMQPError(code: .heartbeatTimeout) }
    public static func timeout(_ reason: String) -> AMQPError { AMQPError(code: .timeout, reason: reason) }
    public static func brokerClosed(replyCode: UInt16, reason: String) -> AMQPError {
        AMQPError(code: .brokerClosed, replyCode: replyCode, reason: reason)
    }
    public static func publishNacked() -> AMQPError { AMQPError(code: .publishNacked) }
    public static func publishReturned(replyCode: UInt16, reason: String) -> AMQPError {
        AMQPError(code: .publishReturned, replyCode: replyCode, reason: reason)
    }
    public static func staleDelivery() -> AMQPError { AMQPError(code: .staleDelivery) }
    public static func alreadySettled() -> AMQPError { AMQPError(code: .alreadySettled) }
    public static func consumerCancelled() -> AMQPError { AMQPError(code: .consumerCancelled) }
    public static func notConnected() -> AMQPError { AMQPError(code: .notConnected) }
    public static func closed() -> AMQPError { AMQPError(code: .closed) }
    public static func protocolError(_ reason: String, status: Int32? = nil) -> AMQPError {
        AMQPError(code: .protocolError, reason: reason, libraryStatus: status)
    }
}
