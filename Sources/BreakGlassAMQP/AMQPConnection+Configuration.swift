extension AMQPConnection {
    /// Everything a connection needs. Defaults are documented per field; `validate()` rejects nonsense.
    public struct Configuration: Sendable {
        /// Broker URL, `amqp://` or `amqps://` (the password is never logged).
        public var url: AMQPURL
        /// The other nodes of the same RabbitMQ cluster (issue 17). A connection goes to `url` first; when a node
        /// cannot be reached, or its connection is lost, the next attempt starts with the next node in turn
        /// (`url`, then these, round robin). Default: none.
        public var alternateURLs: [AMQPURL] = []

        /// `url`, then `alternateURLs`: every node a connection may go to.
        public var endpoints: [AMQPURL] { [url] + alternateURLs }
        /// Heartbeat interval proposed to the broker. Default 30 s. Never 0: a dead peer must be noticed;
        /// the library declares the broker dead after 2x this without any frame.
        public var heartbeat: Duration = .seconds(30)
        /// TCP connect timeout (per address). Default 10 s.
        public var connectTimeout: Duration = .seconds(10)
        /// AMQP handshake (protocol header, login, tune) timeout. Default 10 s.
        public var handshakeTimeout: Duration = .seconds(10)
        /// Timeout of synchronous AMQP RPCs (declare, consume, qos, channel open). Default 10 s.
        public var rpcTimeout: Duration = .seconds(10)
        /// A publish that is not confirmed (or, while disconnected/blocked, not even sent) within this time
        /// fails with `AMQPError.Code.timeout`. Default 60 s.
        public var publishTimeout: Duration = .seconds(60)
        /// Maximum frame size proposed to the broker. Default 131072 (rabbitmq-c's default).
        public var frameMax: Int32 = 131_072
        /// Connection name shown by the broker's management tools. Default "breakglass".
        public var connectionName: String = "breakglass"
        /// TLS settings, used for `amqps://` URLs.
        public var tls: TLS = TLS()
        /// Reconnect policy after a connection loss.
        public var reconnect: ReconnectBackoff.Configuration = .init()
        /// Declarations made on every (re)connect before consumers are restored. Default: none; the worker passes
        /// `AMQPTopology().declarations`.
        public var topology: [AMQPTopology.Declaration] = []

        public init(url: AMQPURL) {
            self.url = url
        }

        /// Parses `url` (throws `AMQPError.Code.invalidURL`).
        public init(url: String) throws {
            self.url = try AMQPURL(parsing: url)
        }

        /// TLS for `amqps://`: a CA file is required (rabbitmq-c 0.11 has no default trust store); peer and
        /// host name verification are always on; TLS 1.2 is the minimum.
        public struct TLS: Sendable, Equatable {
            /// PEM file of the CA(s) that sign the broker's certificate. Required for `amqps://`.
            public var caFile: String?
            /// Optional client certificate (PEM) for mutual TLS; needs `keyFile` too.
            public var certificateFile: String?
            /// Private key (PEM) of `certificateFile`.
            public var keyFile: String?

            public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
                self.caFile = caFile
                self.certificateFile = certificateFile
                self.keyFile = keyFile
            }
        }

        /// Throws `AMQPError.Code.invalidConfiguration` for values that would make the connection unsafe or hang.
        public func validate() throws {
            let heartbeatSeconds = heartbeat.components.seconds
            guard heartbeat >= .seconds(1), heartbeatSeconds <= 3600 else {
                throw AMQPError.invalidConfiguration("heartbeat must be between 1 s and 3600 s (0 is not allowed)")
            }
            for (name, value) in [
                ("connectTimeout", connectTimeout), ("handshakeTimeout", handshakeTimeout),
                ("rpcTimeout", rpcTimeout), ("publishTimeout", publishTimeout),
            ] {
                guard value > .zero else { throw AMQPError.invalidConfiguration("\(name) must be positive") }
            }
            guard frameMax >= 4096 else { throw AMQPError.invalidConfiguration("frameMax must be at least 4096") }
            if endpoints.contains(where: { $0.tls != url.tls }) {
                throw AMQPError.invalidConfiguration("every node of the cluster uses amqp:// or every one amqps://")
            }
            if url.tls {
                guard let ca = tls.caFile, !ca.isEmpty else {
                    throw AMQPError.invalidConfiguration(
                        "amqps:// needs tls.caFile (rabbitmq-c 0.11 has no default CA)")
                }
                if (tls.certificateFile == nil) != (tls.keyFile == nil) {
                    throw AMQPError.invalidConfiguration("tls.certificateFile and tls.keyFile go together")
                }
            }
            try reconnect.validate()
        }

        /// Heartbeat in whole seconds as sent to the broker (rounded up, at least 1).
        var heartbeatSeconds: Int32 {
            let components = heartbeat.components
            let seconds = components.seconds + (components.attoseconds > 0 ? 1 : 0)
            return Int32(max(1, min(seconds, 3600)))
        }
    }
}
