import CRabbitMQ
@testable import BreakGlassAMQP
import Testing

@Suite("AMQPBrokerReply")
struct AMQPBrokerReplyTests {
    static let url = AMQPURL(user: "ops", password: "s3cret-pw", host: "mq.example", port: 5671, virtualHost: "prod")

    static func login(_ reply: AMQPBrokerReply) -> AMQPError? {
        reply.loginError(url: url, handshakeTimeout: .seconds(10))
    }

    @Test func normalIsNoError() {
        #expect(AMQPBrokerReply.normal.error(during: "declare") == nil)
        #expect(Self.login(.normal) == nil)
        #expect(AMQPBrokerReply.statusError(ifFailed: AMQP_STATUS_OK.rawValue) == nil)
    }

    @Test("406 PRECONDITION_FAILED keeps its text: the declaration conflict is visible")
    func preconditionFailed() {
        let text =
            "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'"
        let error = AMQPBrokerReply.channelClose(replyCode: 406, replyText: text).error(during: "declare")
        #expect(error == AMQPError(code: .brokerClosed, replyCode: 406, reason: text))
        #expect(error?.description == "AMQP error: broker-closed")
    }

    @Test("404 NOT_FOUND on a channel is broker-closed")
    func notFound() {
        let error = AMQPBrokerReply.channelClose(replyCode: 404, replyText: "NOT_FOUND - no queue 'q'").error(
            during: "queue.declare passive")
        #expect(error?.code == .brokerClosed)
        #expect(error?.replyCode == 404)
    }

    @Test("320 CONNECTION_FORCED is a lost connection with the broker's code and text")
    func connectionForced() {
        let reply = AMQPBrokerReply.connectionClose(
            replyCode: 320, replyText: "CONNECTION_FORCED - broker forced connection closure")
        #expect(reply.isConnectionClose)
        #expect(
            reply.error(during: "basic.consume")
                == AMQPError(
                    code: .connectionLost, replyCode: 320,
                    reason: "CONNECTION_FORCED - broker forced connection closure"))
        #expect(!AMQPBrokerReply.channelClose(replyCode: 406, replyText: "").isConnectionClose)
    }

    @Test("403 ACCESS_REFUSED at login is authentication-refused, naming user and host, never the password")
    func accessRefused() throws {
        let error = try #require(
            Self.login(.connectionClose(replyCode: 403, replyText: "ACCESS_REFUSED - Login was refused")))
        #expect(error.code == .authenticationRefused)
        #expect(error.replyCode == 403)
        let reason = try #require(error.reason)
        #expect(reason.contains("'ops'") && reason.contains("mq.example:5671") && reason.contains("ACCESS_REFUSED"))
        #expect(!reason.contains("s3cret-pw"))
    }

    @Test("530 NOT_ALLOWED at login is vhost-not-found, naming the vhost")
    func virtualHostNotAllowed() throws {
        let error = try #require(
            Self.login(.connectionClose(replyCode: 530, replyText: "NOT_ALLOWED - vhost prod not found")))
        #expect(error.code == .virtualHostNotFound)
        #expect(error.reason?.contains("'prod'") == true)
        #expect(error.reason?.contains("NOT_ALLOWED") == true)
    }

    @Test(
        "a peer that does not speak AMQP, or closes during the handshake, is not-amqp",
        arguments: [
            AMQP_STATUS_BAD_AMQP_DATA.rawValue, AMQP_STATUS_CONNECTION_CLOSED.rawValue, AMQP_STATUS_TIMEOUT.rawValue,
            AMQP_STATUS_UNEXPECTED_STATE.rawValue,
        ])
    func notAMQP(status: Int32) {
        let error = Self.login(.libraryFailure(status: status))
        #expect(error?.code == .notAMQP)
        #expect(error?.libraryStatus == status)
    }

    @Test func libraryStatuses() {
        #expect(AMQPBrokerReply.statusError(AMQP_STATUS_HEARTBEAT_TIMEOUT.rawValue).code == .heartbeatTimeout)
        #expect(AMQPBrokerReply.statusError(AMQP_STATUS_TIMEOUT.rawValue).code == .timeout)
        let lost = AMQPBrokerReply.libraryFailure(status: AMQP_STATUS_SOCKET_ERROR.rawValue).error(during: "basic.qos")
        #expect(lost?.code == .connectionLost)
        #expect(lost?.libraryStatus == AMQP_STATUS_SOCKET_ERROR.rawValue)
        #expect(lost?.reason?.isEmpty == false)
    }

    @Test func unexpectedOrMissingReplies() {
        #expect(
            AMQPBrokerReply.unexpectedServerMethod.error(during: "basic.cancel")
                == .protocolError("basic.cancel: unexpected server reply"))
        #expect(AMQPBrokerReply.none.error(during: "confirm.select") == .protocolError("confirm.select: no reply"))
        // At login an unexpected reply is a failed handshake, with the host and port.
        let login = Self.login(.unexpectedServerMethod)
        #expect(login?.code == .connectionFailed)
        #expect(login?.reason?.contains("mq.example:5671") == true)
    }
}
