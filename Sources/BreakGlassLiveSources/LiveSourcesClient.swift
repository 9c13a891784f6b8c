import AsyncHTTPClient
public import BreakGlassCore
import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The live sources of the contract (§4) over HTTP (AsyncHTTPClient): bearer token, per-call timeout, a bounded
/// retry window with exponential backoff and jitter for unavailability (timeout, connection failure, 5xx, malformed
/// answer), then `.unavailable` (the gate's `SOURCE_UNAVAILABLE`). 404 is `.notFound`. Answers are validated
/// strictly: strict JSON, every contract field present and typed, status words known, times RFC 3339 UTC, and the
/// answer about the thing asked for.
///
/// The token is only ever read to build the `Authorization` header; it is never logged nor put in a detail.
/// Call `shutdown()` once done.
public final class LiveSourcesClient: LiveSources {
    public let configuration: Configuration
    private let http: HTTPClient
    private let logger: Logger
    private let baseURL: String
    private let authorization: String

    public init(configuration: Configuration, logger: Logger) throws(LiveSourcesError) {
        try configuration.validate()
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.timeout = .init(
            connect: configuration.connectTimeout.timeAmount, read: configuration.requestTimeout.timeAmount)
        httpConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maximumConnections)
        httpConfiguration.redirectConfiguration = .disallow
        httpConfiguration.decompression = .disabled
        // The worker's spans are its own (`Spans`, with a span per source); AsyncHTTPClient's would go to the global
        // no-op tracer, yet cost a hundredth of a halt's CPU building their attributes (issue 21).
        httpConfiguration.tracing.tracer = nil
        if let caFile = configuration.caFile {
            guard FileManager.default.isReadableFile(atPath: caFile) else {
                throw .configurationInvalid("caFile \(caFile) is not readable")
            }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            tls.minimumTLSVersion = .tlsv12
            httpConfiguration.tlsConfiguration = tls
        }
        self.configuration = configuration
        self.http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: httpConfiguration)
        self.logger = logger
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.authorization = "Bearer \(configuration.token.revealed)"
    }

    /// Closes the connection pool. The client is unusable afterwards.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: - LiveSources

    public func fetchCase(caseID: String) async -> SourceAnswer<CaseRecord> {
        await fetch(.escalationCase, path: "/v1/cases/\(Self.segment(caseID))", id: caseID) { record in
            Self.validate(record, caseID: caseID)
        }
    }

    public func fetchTenant(tenantID: String) async -> SourceAnswer<TenantRecord> {
        await fetch(.tenant, path: "/v1/tenants/\(Self.segment(tenantID))", id: tenantID) { record in
            record.tenantID == tenantID ? nil : "tenant_id differs from the one asked for"
        }
    }

    public func fetchIncident(incidentID: String) async -> SourceAnswer<IncidentRecord> {
        await fetch(.incident, path: "/v1/incidents/\(Self.segment(incidentID))", id: incidentID) { record in
            record.incidentID == incidentID ? nil : "incident_id differs from the one asked for"
        }
    }

    public func fetchIdentityAssurance(adminID: String, ref: String) async -> SourceAnswer<IdentityAssurance> {
        let path = "/v1/identity/\(Self.segment(adminID))/assurance/\(Self.segment(ref))"
        return await fetch(.identity, path: path, id: ref) { record in
            record.adminID == adminID && record.ref == ref ? nil : "admin_id or ref differs from the one asked for"
        }
    }

    public func fetchIAMAdminState(tenantID: String) async -> SourceAnswer<IAMAdminState> {
        await fetch(.iamAdminState, path: "/v1/iam/tenants/\(Self.segment(tenantID))/admin-state", id: tenantID) {
            record in
            Self.validate(record)
        }
    }

    // MARK: - One fetch with its retry window

    /// The outcome of one HTTP attempt.
    enum Attempt<Value> {
        case found(Value)
        case notFound
        /// Unavailability that may pass: retried within the window.
        case retryable(String)
        /// A failure that retrying cannot cure (credentials refused, unexpected status): answered at once.
        case fatal(String)
    }

    func fetch<Value: Sendable & Hashable & Codable>(
        _ kind: SourceKind, path: String, id: String, validate: (Value) -> String?
    ) async -> SourceAnswer<Value> {
        var logger = self.logger
        logger[metadataKey: "breakglass.source"] = "\(kind.rawValue)"
        logger[metadataKey: "breakglass.source_id"] = "\(id)"
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.retryWindow)
        var backoff = configuration.initialBackoff
        var attempts = 0
        while true {
            attempts += 1
            if Task.isCancelled {
                return .unavailable(detail: "the fetch was cancelled after \(attempts - 1) attempt(s)")
            }
            // Every attempt gets the full per-call timeout; the window bounds when attempts start, so a fetch ends
            // within `retryWindow + requestTimeout`.
            let outcome: Attempt<Value> = await attempt(
                path: path, timeout: configuration.requestTimeout, validate: validate)
            switch outcome {
            case .found(let value):
                if attempts > 1 {
                    logger.debug(
                        "live source answered after retries",
                        metadata: ["breakglass.attempts": .stringConvertible(attempts)])
                }
                return .found(value)
            case .notFound:
                return .notFound
            case .fatal(let detail):
                logger.info("live source refused the request", metadata: ["breakglass.reason": "\(detail)"])
                return .unavailable(detail: detail)
            case .retryable(let detail):
                let pause = Self.jittered(backoff)
                if clock.now.advanced(by: pause) >= deadline {
                    logger.info(
                        "live source unavailable for the whole retry window",
                        metadata: [
                            "breakglass.reason": "\(detail)", "breakglass.attempts": .stringConvertible(attempts),
                        ])
                    return .unavailable(detail: "\(detail) (\(attempts) attempt(s) within the retry window)")
                }
                logger.debug(
                    "live source unavailable, retrying",
                    metadata: ["breakglass.reason": "\(detail)", "breakglass.attempt": .stringConvertible(attempts)])
                do {
                    try await DeadlineTimers.shared.sleep(for: pause)
                } catch {
                    return .unavailable(detail: "the fetch was cancelled after \(attempts) attempt(s)")
                }
                backoff = min(backoff * 2, configuration.maximumBackoff)
            }
        }
    }

    func attempt<Value: Decodable>(
        path: String, timeout: Duration, validate: (Value) -> String?
    ) async -> Attempt<Value> {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            // One deadline for the request AND its body (issue 15.6): a source that sends its headers and then one
            // byte a second must not hold the gate (AsyncHTTPClient's timeout does not cover the body stream).
            (response, body) = try await Self.withDeadline(timeout) {
                [http, request, maximum = configuration.maximumResponseBytes] in
                let response = try await http.execute(request, timeout: timeout.timeAmount)
                let body = try await response.body.collect(upTo: maximum)
                return (response, body)
            }
        } catch is DeadlineExceeded {
            return .retryable("timeout: no complete answer within \(timeout)")
        } catch let error as NIOTooManyBytesError {
            _ = error
            return .retryable("malformed answer: body larger than \(configuration.maximumResponseBytes) bytes")
        } catch {
            return .retryable(Self.describe(error))
        }
        switch response.status.code {
        case 200:
            break
        case 404:
            return .notFound
        case 500...599, 408, 429:
            return .retryable("HTTP \(response.status.code)")
        case 401, 403:
            return .fatal("HTTP \(response.status.code): the source refused the bearer token")
        default:
            return .fatal("unexpected HTTP \(response.status.code)")
        }
        if let contentType = response.headers.first(name: "Content-Type"),
            !contentType.lowercased().hasPrefix("application/json")
        {
            return .retryable("malformed answer: content type is not application/json")
        }
        let bytes = body.readableBytesView
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            return .retryable("malformed answer: \(error.reason) at byte \(error.offset)")
        }
        guard case .object = parsed else { return .retryable("malformed answer: not a JSON object") }
        let value: Value
        do {
            // Decoded from the tree just parsed (JSONDecoder's answers, without parsing the bytes again).
            do {
                value = try JSONValueDecoder().decode(Value.self, from: parsed)
            } catch is JSONValueDecoder.Unsupported {
                value = try JSONDecoder().decode(Value.self, from: Data(bytes))
            }
        } catch let error as DecodingError {
            return .retryable("malformed answer: \(Self.describe(error))")
        } catch {
            return .retryable("malformed answer: undecodable")
        }
        if let problem = validate(value) {
            return .retryable("malformed answer: \(problem)")
        }
        return .found(value)
    }

    struct DeadlineExceeded: Error {}

    /// Runs `operation`, cancelled (and `DeadlineExceeded` thrown) when `limit` passes first.
    static func withDeadline<T: Sendable>(
        _ limit: Duration, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                // Cancelled in nearly every call: a sleep that leaves nothing queued then (issue 21).
                try await DeadlineTimers.shared.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw DeadlineExceeded() }
            return value
        }
    }
}
