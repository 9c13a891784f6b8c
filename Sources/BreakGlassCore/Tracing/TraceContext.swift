/// A W3C Trace Context (`traceparent`, `tracestate`) as the contract (1.1, §5) carries it: a request message may
/// bring one; the worker continues that trace, and every event it publishes for the request carries the worker's
/// own position in it (the same trace id, the worker's span id) as the CloudEvents distributed-tracing extension.
///
/// Pure. A header that is not a valid version-00 `traceparent` (or a future version's first four fields) is ignored,
/// never a reason to refuse the request: tracing is optional.
public struct TraceContext: Sendable, Hashable {
    /// 32 lowercase hex digits, not all zero.
    public let traceID: String
    /// The span this context names (16 lowercase hex digits, not all zero): the producer's on the request, the
    /// worker's on its events.
    public let spanID: String
    /// Trace flags (2 hex digits; `01` sampled).
    public let flags: String
    /// The vendor list, passed on unchanged (at most 512 characters, printable ASCII).
    public let state: String?

    /// The span that published the request, and so the worker's parent.
    public private(set) var parentSpanID: String?

    public init?(traceparent: String?, tracestate: String? = nil) {
        guard let traceparent else { return nil }
        let fields = traceparent.trimmingCharacters(in: .whitespaces).split(
            separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 4, fields[0].count == 2, Self.isHex(fields[0]), fields[0] != "ff",
            fields[1].count == 32, Self.isHex(fields[1]), fields[1] != Substring(repeating: "0", count: 32),
            fields[2].count == 16, Self.isHex(fields[2]), fields[2] != Substring(repeating: "0", count: 16),
            fields[3].count == 2, Self.isHex(fields[3]),
            fields[0] != "00" || fields.count == 4
        else { return nil }
        self.traceID = String(fields[1])
        self.spanID = String(fields[2])
        self.flags = String(fields[3])
        if let tracestate, !tracestate.isEmpty, tracestate.count <= 512,
            tracestate.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F })
        {
            self.state = tracestate
        } else {
            self.state = nil
        }
    }

    init(traceID: String, spanID: String, flags: String, state: String?, parentSpanID: String?) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
        self.state = state
        self.parentSpanID = parentSpanID
    }

    /// A new trace (sampled) with a root span: for spans of a request that brought no trace. Its events carry no
    /// trace attributes (the contract adds them only where the request carried one).
    public static func root() -> TraceContext {
        var generator = SystemRandomNumberGenerator()
        return TraceContext(
            traceID: randomID(bytes: 16, using: &generator), spanID: randomID(bytes: 8, using: &generator),
            flags: "01", state: nil, parentSpanID: nil)
    }

    /// `bytes` random bytes as lowercase hex, never all zero (W3C: an all-zero id is invalid).
    static func randomID<G: RandomNumberGenerator>(bytes: Int, using generator: inout G) -> String {
        var id = ""
        repeat {
            id = (0..<bytes).map { _ in
                String(UInt8.random(in: 0...255, using: &generator), radix: 16).leftPadded(to: 2)
            }.joined()
        } while id.allSatisfy { $0 == "0" }
        return id
    }

    /// The version-00 header value.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(flags)" }

    /// The same trace, one level down: a new span id whose parent is this one.
    public func child<G: RandomNumberGenerator>(using generator: inout G) -> TraceContext {
        TraceContext(
            traceID: traceID, spanID: Self.randomID(bytes: 8, using: &generator), flags: flags, state: state,
            parentSpanID: spanID)
    }

    public func child() -> TraceContext {
        var generator = SystemRandomNumberGenerator()
        return child(using: &generator)
    }

    /// The context of the request being processed (its worker span), read where its events are made.
    @TaskLocal public static var current: TraceContext?

    static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
