public import BreakGlassCore

extension LiveSourcesClient {
    /// How the client reaches the live sources. Every default is documented at its property.
    public struct Configuration: Sendable {
        /// Base URL of the sources, without the `/v1` prefix, e.g. `https://sources.example.net`. No default.
        public var baseURL: String
        /// The bearer token (`Authorization: Bearer …`). Load it with `BearerToken.load`. No default.
        public var token: Secret
        /// Time allowed for one HTTP call, connection to last body byte. Default 2 s.
        public var requestTimeout: Duration
        /// Time allowed to establish a connection. Default 1 s.
        public var connectTimeout: Duration
        /// Time during which a fetch may start new attempts at an unavailable source before answering
        /// `.unavailable` (`SOURCE_UNAVAILABLE`); a fetch ends within `retryWindow + requestTimeout`. Default 8 s.
        public var retryWindow: Duration
        /// First pause between attempts; doubled after each failure up to `maximumBackoff`, with jitter. Default
        /// 100 ms.
        public var initialBackoff: Duration
        /// Longest pause between attempts. Default 2 s.
        public var maximumBackoff: Duration
        /// Largest accepted response body; a larger one is a malformed answer. Default 1 MiB.
        public var maximumResponseBytes: Int
        /// PEM file of the CA(s) to trust for `https` sources, instead of the system roots. Default nil.
        public var caFile: String?
        /// Soft limit of pooled HTTP/1.1 connections to the sources. Default 64.
        public var maximumConnections: Int

        public init(
            baseURL: String,
            token: Secret,
            requestTimeout: Duration = .seconds(2),
            connectTimeout: Duration = .seconds(1),
            retryWindow: Duration = .seconds(10),
            initialBackoff: Duration = .milliseconds(100),
            maximumBackoff: Duration = .seconds(2),
            maximumResponseBytes: Int = 1 << 20,
            caFile: String? = nil,
            maximumConnections: Int = 64
        ) {
            self.baseURL = baseURL
            self.token = token
            self.requestTimeout = requestTimeout
            self.connectTimeout = connectTimeout
            self.retryWindow = retryWindow
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.maximumResponseBytes = maximumResponseBytes
            self.caFile = caFile
            self.maximumConnections = maximumConnections
        }

        /// Checks what the types cannot: an http(s) base URL, positive durations and sizes.
        public func validate() throws(LiveSourcesError) {
            let lower = baseURL.lowercased()
            guard lower.hasPrefix("http://") || lower.hasPrefix("https://"), baseURL.count > 8 else {
                throw .configurationInvalid("baseURL must be an http:// or https:// URL")
            }
            guard !baseURL.contains("?"), !baseURL.contains("#") else {
                throw .configurationInvalid("baseURL must not carry a query or a fragment")
            }
            try BearerToken.validate(token.revealed)
            for (name, value) in [
                ("requestTimeout", requestTimeout), ("connectTimeout", connectTimeout), ("retryWindow", retryWindow),
                ("initialBackoff", initialBackoff), ("maximumBackoff", maximumBackoff),
            ] where value <= .zero {
                throw .configurationInvalid("\(name) must be positive")
            }
            guard maximumResponseBytes >= 1024 else {
                throw .configurationInvalid("maximumResponseBytes must be at least 1024")
            }
            guard maximumConnections >= 1 else {
                throw .configurationInvalid("maximumConnections must be at least 1")
            }
        }
    }
}
