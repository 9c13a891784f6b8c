import CRabbitMQ
import Foundation

/// Turns a failed connection attempt into the error an on-call person can act on: a refused TCP connection, a
/// refused login, a missing virtual host, a peer that is not an AMQP broker and a broker's own close reason are each
/// a distinct `AMQPError.Code`, and each reason names the host and port (never the password).
///
/// Pure: the I/O thread hands it what the library and the OS said; tested alone.
public enum AMQPConnectFailure {
    public enum Stage: Sendable, Equatable {
        /// Opening the TCP (or TLS) socket.
        case socket
        /// The AMQP handshake: protocol header, `connection.start`/`tune`/`open`, login.
        case handshake
    }

    /// What the attempt ran into.
    public struct Observation: Sendable, Equatable {
        public var stage: Stage
        /// The rabbitmq-c status (negative), when the library failed.
        public var libraryStatus: Int32?
        /// The broker's `connection.close` reply code and text, when it closed the connection.
        public var replyCode: UInt16?
        public var replyText: String?
        /// `errno` right after the socket call failed.
        public var osError: Int32

        public init(
            stage: Stage, libraryStatus: Int32? = nil, replyCode: UInt16? = nil, replyText: String? = nil,
            osError: Int32 = 0
        ) {
            self.stage = stage
            self.libraryStatus = libraryStatus
            self.replyCode = replyCode
            self.replyText = replyText
            self.osError = osError
        }
    }

    public static func error(_ observation: Observation, url: AMQPURL, handshakeTimeout: Duration) -> AMQPError {
        let endpoint = "\(url.host):\(url.port)"
        let status = observation.libraryStatus
        if let code = observation.replyCode {
            let text = observation.replyText.map { ": \($0)" } ?? ""
            switch code {
            case 403:
                return AMQPError(
                    code: .authenticationRefused, replyCode: code,
                    reason:
                        "the broker at \(endpoint) refused the login of user '\(url.user)' (403\(text)); check the user and its password",
                    libraryStatus: status)
            case 530:
                return AMQPError(
                    code: .virtualHostNotFound, replyCode: code,
                    reason:
                        "virtual host '\(url.virtualHost)' at \(endpoint) does not exist or user '\(url.user)' may not use it (530\(text))",
                    libraryStatus: status)
            default:
                return AMQPError(
                    code: .brokerClosed, replyCode: code,
                    reason:
                        "the broker at \(endpoint) closed the connection (\(code)\(text))", libraryStatus: status)
            }
        }
        let library = status.map { String(cString: amqp_error_string2($0)) } ?? "unknown failure"
        switch (observation.stage, status) {
        case (_, AMQP_STATUS_SSL_ERROR.rawValue?), (_, AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED.rawValue?),
            (_, AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue?), (_, AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue?):
            return AMQPError(
                code: .tlsFailure, reason: "TLS with \(endpoint) failed: \(library)", libraryStatus: status)
        case (.socket, AMQP_STATUS_HOSTNAME_RESOLUTION_FAILED.rawValue?):
            return AMQPError(
                code: .connectionFailed, reason: "cannot resolve the broker host '\(url.host)'", libraryStatus: status)
        case (.socket, AMQP_STATUS_TIMEOUT.rawValue?):
            return AMQPError(
                code: .connectionFailed,
                reason: "no TCP answer from \(endpoint) in time (filtered, or the host is down)",
                libraryStatus: status)
        case (.socket, _):
            if observation.osError == ECONNREFUSED {
                return AMQPError(
                    code: .connectionRefused, reason: "nothing listens on \(endpoint) (connection refused)",
                    libraryStatus: status)
            }
            let cause = observation.osError != 0 ? String(cString: strerror(observation.osError)) : library
            return AMQPError(
                code: .connectionFailed, reason: "cannot connect to \(endpoint): \(cause)", libraryStatus: status)
        case (.handshake, AMQP_STATUS_TIMEOUT.rawValue?):
            return AMQPError(
                code: .notAMQP,
                reason:
                    "\(endpoint) accepted the connection but sent no AMQP handshake within \(handshakeTimeout) (not an AMQP broker, or one overloaded)",
                libraryStatus: status)
        case (.handshake, AMQP_STATUS_BAD_AMQP_DATA.rawValue?), (.handshake, AMQP_STATUS_UNKNOWN_CLASS.rawValue?),
            (.handshake, AMQP_STATUS_UNKNOWN_METHOD.rawValue?),
            (.handshake, AMQP_STATUS_INCOMPATIBLE_AMQP_VERSION.rawValue?),
            (.handshake, AMQP_STATUS_UNEXPECTED_STATE.rawValue?), (.handshake, AMQP_STATUS_WRONG_METHOD.rawValue?):
            return AMQPError(
                code: .notAMQP, reason: "\(endpoint) answered, but not as an AMQP 0-9-1 broker (\(library))",
                libraryStatus: status)
        case (.handshake, AMQP_STATUS_CONNECTION_CLOSED.rawValue?), (.handshake, AMQP_STATUS_SOCKET_CLOSED.rawValue?),
            (.handshake, AMQP_STATUS_SOCKET_ERROR.rawValue?):
            return AMQPError(
                code: .notAMQP,
                reason:
                    "\(endpoint) closed the connection during the AMQP handshake (not an AMQP broker, or it refused this client)",
                libraryStatus: status)
        case (.handshake, AMQP_STATUS_BROKER_UNSUPPORTED_SASL_METHOD.rawValue?):
            return AMQPError(
                code: .authenticationRefused, reason: "the broker at \(endpoint) does not accept PLAIN logins",
                libraryStatus: status)
        case (.handshake, _):
            return AMQPError(
                code: .connectionFailed, reason: "AMQP handshake with \(endpoint) failed: \(library)",
                libraryStatus: status)
        }
    }
}
