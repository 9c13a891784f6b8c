import BreakGlassCore
import Foundation
import Logging
import Synchronization
import Testing

@testable import BreakGlassWorker

@Suite("JSONLogHandler")
struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
        func objects() throws -> [[String: Any]] {
            try lines.withLock { $0 }.map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }
    }

    @Test(
        "typed fields (numbers, booleans, arrays) and the request's trace id on every line; secrets redacted whatever their type"
    )
    func typedFieldsAndTraceID() throws {
        let lines = Lines()
        let logger = Logger(label: "test") { JSONLogHandler(label: $0, level: .debug, sink: lines.sink) }
        logger.warning("no trace", metadata: ["breakglass.attempt": .stringConvertible(3)])
        let context = try #require(TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
            .child()
        TraceContext.$current.withValue(context) {
            logger.notice(
                "in a request",
                metadata: [
                    "breakglass.attempt": .stringConvertible(3), "breakglass.retrying": .stringConvertible(true),
                    "breakglass.reasons": .array([.string("TENANT_INACTIVE"), .string("CASE_CLOSED")]),
                    "breakglass.token_length": .stringConvertible(40), "breakglass.note": "mail a.person@example.com",
                ])
        }
        let objects = try lines.objects()
        #expect(objects.count == 2)
        #expect(objects[0]["trace_id"] == nil)
        #expect(objects[0]["breakglass.attempt"] as? Int == 3)
        let traced = objects[1]
        #expect(traced["trace_id"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(traced["span_id"] as? String == context.spanID)
        #expect(traced["breakglass.attempt"] as? Int == 3)
        #expect(traced["breakglass.retrying"] as? Bool == true)
        #expect(traced["breakglass.reasons"] as? [String] == ["TENANT_INACTIVE", "CASE_CLOSED"])
        #expect(traced["breakglass.token_length"] as? String == "<redacted>")
        #expect((traced["breakglass.note"] as? String)?.contains("example.com") == false)
    }

    /// Issue 21: the redaction's searches scan bytes instead of asking Foundation on every value; they must find what
    /// Foundation finds, where Foundation finds it, on generated text (mixed case, near misses, non-ASCII).
    @Test func theRedactionsByteSearchesFindWhatFoundationFinds() {
        var generator = SystemRandomNumberGenerator()
        let pieces = [
            "Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer", "bearer-", "Bear er ", "://", ":/", "x://y:p@h",
            "é", "ß", "İ", "K", " ", "a", "token=", "\"", ",", "日本",
        ]
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            #expect(
                LogRedaction.bearerRange(in: text) == text.range(of: "Bearer ", options: .caseInsensitive), "\(text)")
            #expect(LogRedaction.firstRange(of: Array("://".utf8), in: text) == text.range(of: "://"), "\(text)")
        }
        // The secret-key test: the same answer as lowercasing and Foundation's search, on generated keys.
        let keyPieces = [
            "breakglass.", "Token", "TOKEN", "tok", "en", "pass", "word", "Secret", "cookie", "AUTHORIZATION", "seed",
            "private", "credential", "_", ".", "\u{212A}", "İ", "é", "x",
        ]
        for _ in 0..<5_000 {
            let key = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                keyPieces.randomElement(using: &generator)!
            }.joined()
            let lowered = key.lowercased()
            let expected = LogRedaction.secretKeyWords.contains(where: { lowered.contains($0) })
            #expect(LogRedaction.namesSecret(key) == expected, "\(key)")
        }
        #expect(LogRedaction.text("Authorization: bearer abc.def, next") == "Authorization: bearer <redacted>, next")
        #expect(LogRedaction.text("amqp://guest:hunter2@host:5672/") == "amqp://guest:<redacted>@host:5672/")
    }
}
