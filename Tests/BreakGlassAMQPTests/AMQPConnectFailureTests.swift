import CRabbitMQ
import Foundation
import Testing

@testable import BreakGlassAMQP

@Suite("AMQPConnectFailure")
struct AMQPConnectFailureTests {
    static let url = AMQPURL(user: "ops", password: "s3cret-pw", host: "mq.example", port: 5671, virtualHost: "prod")

    static func classify(_ observation: AMQPConnectFailure.Observation) -> AMQPError {
        AMQPConnectFailure.error(observation, url: url, handshakeTimeout: .seconds(10))
    }

    @Test(
        "each cause has its own code, and every reason names host:port without the password",
        arguments: [
            (
                AMQPConnectFailure.Observation(
                    stage: .socket, libraryStatus: AMQP_STATUS_SOCKET_ERROR.rawValue, osError: ECONNREFUSED),
                AMQPError.Code.connectionRefused
            ),
            (
                .init(stage: .socket, libraryStatus: AMQP_STATUS_SOCKET_ERROR.rawValue, osError: EHOSTUNREACH),
                .connectionFailed
            ),
            (.init(stage: .socket, libraryStatus: AMQP_STATUS_TIMEOUT.rawValue), .connectionFailed),
            (
                .init(stage: .handshake, replyCode: 403, replyText: "ACCESS_REFUSED - Login was refused"),
                .authenticationRefused
            ),
            (
                .init(stage: .handshake, replyCode: 530, replyText: "NOT_ALLOWED - vhost prod not found"),
                .virtualHostNotFound
            ),
            (.init(stage: .handshake, replyCode: 541, replyText: "INTERNAL_ERROR"), .brokerClosed),
            (.init(stage: .handshake, libraryStatus: AMQP_STATUS_BAD_AMQP_DATA.rawValue), .notAMQP),
            (.init(stage: .handshake, libraryStatus: AMQP_STATUS_CONNECTION_CLOSED.rawValue), .notAMQP),
            (.init(stage: .handshake, libraryStatus: AMQP_STATUS_TIMEOUT.rawValue), .notAMQP),
            (.init(stage: .socket, libraryStatus: AMQP_STATUS_SSL_PEER_VERIFY_FAILED.rawValue), .tlsFailure),
        ])
    func distinctCodes(observation: AMQPConnectFailure.Observation, expected: AMQPError.Code) {
        let error = Self.classify(observation)
        #expect(error.code == expected)
        let reason = error.reason ?? ""
        #expect(reason.contains("mq.example") && (reason.contains("mq.example:5671") || expected == .connectionFailed))
        #expect(!reason.contains("s3cret-pw"))
        if let code = observation.replyCode { #expect(error.replyCode == code) }
    }

    @Test("a refused login names the user and the broker's reply")
    func refusedLogin() {
        let error = Self.classify(.init(stage: .handshake, replyCode: 403, replyText: "ACCESS_REFUSED"))
        #expect(error.reason?.contains("'ops'") == true)
        #expect(error.reason?.contains("ACCESS_REFUSED") == true)
    }
}
