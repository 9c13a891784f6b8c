public import Foundation

/// One finished span, as the worker exports it (OTLP, `docs/OPERATIONS.md`, "Tracing").
public struct SpanData: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case `internal`, consumer, producer, client
    }

    public enum Value: Sendable, Hashable {
        case string(String)
        case int(Int)
        case bool(Bool)
    }

    public var traceID: String
    public var spanID: String
    public var parentSpanID: String?
    public var name: String
    public var kind: Kind
    public var start: Date
    public var end: Date
    public var attributes: [String: Value]
    /// nil: unset; otherwise an error span with its (secret-free) description.
    public var error: String?
}

/// Where finished spans go: the OTLP exporter of the worker, an in-memory twin in tests.
public protocol SpanRecorder: Sendable {
    func record(_ span: SpanData)
}

/// Spans around the pipeline's stages (issue 18.4). Off unless a recorder is installed (`Spans.$recorder`, set once
/// around the worker's services) and the work runs inside a trace (`Spans.$parent`): then `Spans.with` times `body`
/// as a child of the current span and makes itself the parent of what `body` starts. Never changes what `body` does.
public enum Spans {
    @TaskLocal public static var recorder: (any SpanRecorder)?
    /// The span new spans are children of.
    @TaskLocal public static var parent: TraceContext?

    /// A span attribute set that can be filled while the span runs (e.g. the result of a stage).
    public final class Attributes: @unchecked Sendable {
        let lock = NSLock()
        var values: [String: SpanData.Value] = [:]
        var error: String?

        public init() {}

        public subscript(key: String) -> SpanData.Value? {
            get { lock.withLock { values[key] } }
            set { lock.withLock { values[key] = newValue } }
        }

        /// Marks the span failed, with a secret-free description (a code, a reason).
        public func fail(_ description: String) { lock.withLock { error = description } }
    }

    public static func with<T: Sendable>(
        _ name: String, kind: SpanData.Kind = .internal, attributes initial: [String: SpanData.Value] = [:],
        _ body: (Attributes) async throws -> T
    ) async rethrows -> T {
        let attributes = Attributes()
        attributes.values = initial
        guard let recorder, let parent else { return try await body(attributes) }
        let span = parent.child()
        let start = Date()
        do {
            let result = try await $parent.withValue(span) { try await body(attributes) }
            finish(
                span, parent: parent, name: name, kind: kind, start: start, attributes: attributes, recorder: recorder)
            return result
        } catch {
            attributes.fail(String(describing: type(of: error)))
            finish(
                span, parent: parent, name: name, kind: kind, start: start, attributes: attributes, recorder: recorder)
            throw error
        }
    }

    /// A span opened with `start` and closed with `end` (for code whose typed throws a closure would widen). It is not
    /// the parent of anything started meanwhile.
    public struct Open: Sendable {
        let span: TraceContext
        let parent: TraceContext
        let name: String
        let start: Date
        let recorder: any SpanRecorder
        public let attributes: Attributes

        public func end(error: String? = nil) {
            if let error { attributes.fail(error) }
            Spans.finish(
                span, parent: parent, name: name, kind: .internal, start: start, attributes: attributes,
                recorder: recorder)
        }
    }

    /// Opens a child span of the current one; nil when tracing is off.
    public static func start(_ name: String, attributes initial: [String: SpanData.Value] = [:]) -> Open? {
        guard let recorder, let parent else { return nil }
        let attributes = Attributes()
        attributes.values = initial
        return Open(
            span: parent.child(), parent: parent, name: name, start: Date(), recorder: recorder, attributes: attributes)
    }

    /// Records a span that was opened elsewhere (the request's own worker span, whose id the events carry).
    public static func record(
        _ span: TraceContext, name: String, kind: SpanData.Kind, start: Date,
        attributes: Attributes
    ) {
        guard let recorder else { return }
        finish(span, parent: nil, name: name, kind: kind, start: start, attributes: attributes, recorder: recorder)
    }

    static func finish(
        _ span: TraceContext, parent: TraceContext?, name: String, kind: SpanData.Kind, start: Date,
        attributes: Attributes, recorder: any SpanRecorder
    ) {
        let (values, error) = attributes.lock.withLock { (attributes.values, attributes.error) }
        recorder.record(
            SpanData(
                traceID: span.traceID, spanID: span.spanID, parentSpanID: parent?.spanID ?? span.parentSpanID,
                name: name,
                kind: kind, start: start, end: Date(), attributes: values, error: error))
    }
}

/// Keeps finished spans in memory (tests, and the exporter's buffer).
public final class InMemorySpanRecorder: SpanRecorder, @unchecked Sendable {
    private let lock = NSLock()
    private var spans: [SpanData] = []

    public init() {}

    public func record(_ span: SpanData) { lock.withLock { spans.append(span) } }

    public var finished: [SpanData] { lock.withLock { spans } }

    /// Takes every span recorded so far.
    public func drain() -> [SpanData] {
        lock.withLock {
            defer { spans.removeAll(keepingCapacity: true) }
            return spans
        }
    }
}
