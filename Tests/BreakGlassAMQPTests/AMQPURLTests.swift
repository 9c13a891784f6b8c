import BreakGlassAMQP
import Testing

@Suite struct AMQPURLTests {
    @Test func parsesFullURL() throws {
        let url = try AMQPURL(parsing: "amqp://user:s%40cret@broker.example:5673/prod")
        #expect(url.tls == false)
        #expect(url.user == "user")
        #expect(url.password == "s@cret")
        #expect(url.host == "broker.example")
        #expect(url.port == 5673)
        #expect(url.virtualHost == "prod")
    }

    @Test func defaultsPortAndVirtualHost() throws {
        let plain = try AMQPURL(parsing: "amqp://guest:guest@127.0.0.1/")
        #expect(plain.port == 5672)
        #expect(plain.virtualHost == "/")
        let tls = try AMQPURL(parsing: "amqps://h")
        #expect(tls.tls)
        #expect(tls.port == 5671)
        #expect(tls.user == "guest")
        #expect(try AMQPURL(parsing: "amqp://h/%2f").virtualHost == "/")
        #expect(try AMQPURL(parsing: "amqp://h/%2Fteam").virtualHost == "/team")
        #expect(try AMQPURL(parsing: "amqp://[::1]:5700").host == "::1")
    }

    @Test(arguments: [
        "http://h", "amqp:/h", "amqp://", "amqp://h:0", "amqp://h:99999", "amqp://h:port", "amqp://u:p@:5672",
        "amqp://h/a/b", "amqp://h/%zz", "amqp://h?heartbeat=0", "amqp://:p@h",
    ])
    func rejectsInvalidURLs(_ text: String) {
        #expect(throws: AMQPError.self) { try AMQPURL(parsing: text) }
        do {
            _ = try AMQPURL(parsing: text)
        } catch let error as AMQPError {
            #expect(error.code == .invalidURL)
        } catch {
            Issue.record("unexpected error type")
        }
    }

    @Test func neverPrintsThePassword() throws {
        let url = try AMQPURL(parsing: "amqps://svc:hunter2-secret@mq.internal:5671/ops")
        #expect(!url.redacted.contains("hunter2"))
        #expect(!"\(url)".contains("hunter2"))
        #expect(url.redacted == "amqps://svc:***@mq.internal:5671/ops")
        do {
            _ = try AMQPURL(parsing: "amqp://svc:hunter2-secret@mq.internal:notaport/")
        } catch let error as AMQPError {
            #expect(!error.description.contains("hunter2"))
            #expect(!(error.reason ?? "").contains("hunter2"))
        }
    }
}
