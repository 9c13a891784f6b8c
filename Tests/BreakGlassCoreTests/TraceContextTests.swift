import BreakGlassCore
import Foundation
import Testing

@Suite("TraceContext (contract 1.1 trace propagation)")
struct TraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test("a valid traceparent is read; the worker's child keeps the trace id, gets its own span id, names its parent")
    func child() throws {
        let context = try #require(TraceContext(traceparent: Self.parent, tracestate: "vendor=abc"))
        #expect(context.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(context.spanID == "00f067aa0ba902b7")
        let child = context.child()
        #expect(child.traceID == context.traceID)
        #expect(child.spanID != context.spanID && child.spanID.count == 16)
        #expect(child.parentSpanID == context.spanID)
        #expect(child.state == "vendor=abc")
        #expect(
            child.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-") && child.traceparent.hasSuffix("-01"))
    }

    @Test(
        "anything else is ignored, never a reason to refuse",
        arguments: [
            "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ])
    func invalid(header: String) {
        #expect(TraceContext(traceparent: header) == nil)
    }

    @Test("a later version's first four fields are read; an oversized or non-ASCII tracestate is dropped")
    func futureVersionAndState() throws {
        let future = try #require(
            TraceContext(traceparent: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more"))
        #expect(future.traceparent == Self.parent)
        #expect(TraceContext(traceparent: Self.parent, tracestate: String(repeating: "a", count: 513))?.state == nil)
        #expect(TraceContext(traceparent: Self.parent, tracestate: "k=v\u{1}")?.state == nil)
    }

    @Test("events made while a request's context is current carry traceparent and tracestate; others carry none")
    func eventsCarryTheTrace() throws {
        let factory = EventFactory(source: "urn:breakglass:worker")
        let key = RestorationKey(caseID: "CASE-1", tenantID: "tnt-1")
        let plain = factory.halted(
            key: key, requestID: "R", attempt: 0, stage: .gate, reasons: [.caseClosed], escalate: false,
            takeoverID: "CASE-1/tnt-1#1", time: Date())
        #expect(!String(decoding: plain.encoded(), as: UTF8.self).contains("traceparent"))
        let context = try #require(TraceContext(traceparent: Self.parent, tracestate: "vendor=abc")).child()
        let traced = TraceContext.$current.withValue(context) {
            factory.halted(
                key: key, requestID: "R", attempt: 0, stage: .gate, reasons: [.caseClosed], escalate: false,
                takeoverID: "CASE-1/tnt-1#1", time: Date())
        }
        let json = try #require(try JSONSerialization.jsonObject(with: traced.encoded()) as? [String: Any])
        #expect(json["traceparent"] as? String == context.traceparent)
        #expect(json["tracestate"] as? String == "vendor=abc")
        #expect(traced.id == plain.id, "the trace is not part of the event's identity")
    }
}
