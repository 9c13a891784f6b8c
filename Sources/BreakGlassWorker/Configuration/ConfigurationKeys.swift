/// One configuration key: its dotted name, type, default and meaning.
///
/// The registry ``ConfigurationKeys/all`` is the single source of truth: the loader reads these keys, `breakglass
/// config example` prints `config/breakglass.example.yaml` from them (a test checks the committed file), and
/// `breakglass config show` prints effective values with every secret redacted.
public struct ConfigurationKey: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case string, int, double, bool, stringList
    }

    /// Dotted key, as in the YAML file: `amqp.url`.
    public let name: String
    public let kind: Kind
    /// The default as YAML text; nil for keys without a default (optional values).
    public let defaultValue: String?
    /// Secrets are never printed, not even by `config show`; prefer their `*_file` sibling.
    public let isSecret: Bool
    public let help: String

    public init(_ name: String, _ kind: Kind, default defaultValue: String?, secret: Bool = false, _ help: String) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isSecret = secret
        self.help = help
    }

    /// The environment variable overriding this key: `BREAKGLASS_` + the key upper-cased, dots as underscores.
    public var environmentName: String {
        "BREAKGLASS_" + name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// The section (`amqp`) and the leaf (`url`).
    var section: String { String(name.split(separator: ".").first ?? "") }
}

public enum ConfigurationKeys {
    public static let all: [ConfigurationKey] = [
        // worker
        .init("worker.id", .string, default: nil, "Worker id used as the ledger claim owner; default: hostname-pid."),
        .init("worker.service_identity", .string, default: "svc-breakglass",
              "The worker's own service identity; an approval by it is a segregation-of-duties violation."),
        .init("worker.event_source", .string, default: "urn:breakglass:worker",
              "CloudEvents `source` of every event this worker publishes."),
        .init("worker.in_flight", .int, default: "2", "Requests processed at once, each with its own browser session."),
        .init("worker.trusted_keys_file", .string, default: "config/trusted-keys.json",
              "Trusted Ed25519 public keys by key id (contract §3)."),
        .init("worker.drain_seconds", .int, default: "30",
              "On SIGTERM: how long in-flight requests may finish before they are halted safely."),
        // ledger
        .init("ledger.path", .string, default: "run/ledger.sqlite", "SQLite ledger file, shared by the workers of a host."),
        .init("ledger.lease_seconds", .int, default: "120", "Claim lease; an expired claim may be taken over (epoch + 1)."),
        .init("ledger.busy_timeout_ms", .int, default: "5000", "SQLite busy timeout."),
        .init("ledger.max_resumes", .int, default: "3", "How often a person may resume one key (takeover resume)."),
        // amqp
        .init("amqp.url", .string, default: "amqp://guest:guest@127.0.0.1:5672/", secret: true,
              "Broker URL (amqp:// or amqps://). Its password is a secret: prefer amqp.password_file."),
        .init("amqp.password_file", .string, default: nil, "File holding the broker password (overrides the URL's)."),
        .init("amqp.heartbeat_seconds", .int, default: "30", "AMQP heartbeat; never 0."),
        .init("amqp.connect_timeout_seconds", .int, default: "10", "TCP + AMQP handshake timeout."),
        .init("amqp.rpc_timeout_seconds", .int, default: "10", "Timeout of every AMQP RPC and socket write."),
        .init("amqp.tls.ca_file", .string, default: nil, "CA bundle for amqps:// (required: rabbitmq-c 0.11 has no default CA)."),
        .init("amqp.tls.cert_file", .string, default: nil, "Client certificate (PEM) for amqps://, optional."),
        .init("amqp.tls.key_file", .string, default: nil, "Client key (PEM) for amqps://, optional."),
        .init("amqp.request_exchange", .string, default: "breakglass.requests", "Request exchange (direct)."),
        .init("amqp.request_queue", .string, default: "breakglass.restorations", "Request queue (quorum)."),
        .init("amqp.request_routing_key", .string, default: "restoration.approved", "Request binding key."),
        .init("amqp.dead_letter_exchange", .string, default: "breakglass.dead", "Dead-letter exchange (fanout)."),
        .init("amqp.dead_letter_queue", .string, default: "breakglass.dead", "Dead-letter queue."),
        .init("amqp.event_exchange", .string, default: "breakglass.events", "Event exchange (topic)."),
        .init("amqp.delivery_limit", .int, default: "10", "Quorum queue x-delivery-limit."),
        // sources
        .init("sources.base_url", .string, default: "http://127.0.0.1:8080", "Base URL of the live-source API (contract §4)."),
        .init("sources.token", .string, default: nil, secret: true, "Bearer token for the live sources. Prefer sources.token_file."),
        .init("sources.token_file", .string, default: nil, "File holding the live-source bearer token."),
        .init("sources.timeout_ms", .int, default: "2000", "Per-call timeout."),
        .init("sources.retry_window_seconds", .int, default: "10",
              "How long unavailability is retried (with backoff) before SOURCE_UNAVAILABLE."),
        .init("sources.ca_file", .string, default: nil, "CA bundle for https sources."),
        // gate
        .init("gate.max_approval_age_minutes", .int, default: "240", "Older approvals are APPROVAL_STALE, though not expired."),
        .init("gate.identity_max_age_minutes", .int, default: "1440", "Identity assurance older than this is IDENTITY_UNVERIFIED."),
        .init("gate.clock_skew_seconds", .int, default: "30", "Tolerance for clock differences with the sources."),
        .init("gate.deadline_seconds", .int, default: "20",
              "Upper bound of the whole gate and of the pre-submit recheck: a source still unanswered then is SOURCE_UNAVAILABLE."),
        .init("gate.required_roles", .stringList, default: nil,
              "Override of the IAM policy's required_approval_roles (default: use the live policy)."),
        // recovery
        .init("recovery.grace_seconds", .int, default: "300",
              "How long after its lease lapsed an in-flight key with no delivery coming back becomes a takeover record (at least the lease + the confirmation bound): long enough for a redelivery behind a backlog."),
        // console
        .init("console.url", .string, default: "http://127.0.0.1:8080", "Base URL of the emergency admin console (the map's paths are relative to it)."),
        .init("console.map_file", .string, default: "config/consoles/reference.yaml", "Console map (screens, fields, assertions)."),
        .init("console.username", .string, default: "svc-breakglass", "Console service account."),
        .init("console.password", .string, default: nil, secret: true, "Console password. Prefer console.password_file."),
        .init("console.password_file", .string, default: nil, "File holding the console password."),
        .init("console.page_timeout_seconds", .int, default: nil,
              "Overrides the map's timeouts.screen_ms (bound on recognising each screen) when set."),
        .init("console.confirmation_timeout_seconds", .int, default: nil,
              "Overrides the map's timeouts.confirmation_ms (bound on the confirmation after the click) when set."),
        .init("console.grant_verify_window_seconds", .int, default: "15",
              "Window for the grant to show in IAM admin-state (else GRANT_UNVERIFIED)."),
        // webdriver
        .init("webdriver.url", .string, default: nil, "A running WebDriver endpoint; empty: the worker starts chromedriver itself."),
        .init("webdriver.isolation", .string, default: "auto",
              "Keep other local users off the managed chromedriver's port: auto (an nftables owner rule when root and nft are there, else a warning), required (refuse to start without it), off (the deployment isolates the worker)."),
        .init("webdriver.chromedriver_path", .string, default: "/usr/bin/chromedriver", "chromedriver binary."),
        .init("webdriver.chromium_path", .string, default: "/usr/bin/chromium", "Chromium binary."),
        // evidence
        .init("evidence.dir", .string, default: "run/evidence", "Where sealed evidence bundles are written."),
        .init("evidence.key_file", .string, default: nil,
              "Ed25519 seed sealing evidence manifests; default: generated beside the evidence dir."),
        .init("evidence.public_key_file", .string, default: nil,
              "The trusted evidence public key (base64, or trusted-keys JSON with key ids for rotation) that report verifies bundles with; keep it apart from evidence.dir. Without it, the public half of evidence.key_file; report refuses to run with neither."),
        // ops
        // security
        .init("security.allow_plain_http", .bool, default: "false",
              "Accept http:// console and source URLs off loopback (a lab only: the console password and the source token then cross the network in the clear)."),
        .init("ops.host", .string, default: "127.0.0.1", "Ops HTTP server address (/livez, /readyz, /metrics)."),
        .init("ops.port", .int, default: "9090", "Ops HTTP server port; 0 disables it."),
        // status
        .init("status.token", .string, default: nil, secret: true, "Bearer token of the status API. Prefer status.token_file."),
        .init("status.token_file", .string, default: nil,
              "File holding the bearer token of the restoration status API on the ops server (/v1/...); unset: the API is off."),
        .init("status.public_url", .string, default: nil,
              "How other hosts reach this worker's status API (e.g. https://worker-1.example:9443): evidence-ready events then name <url>/v1/evidence/<bundle_id> as the location, not a local path."),
        // tracing
        .init("tracing.otlp_endpoint", .string, default: nil,
              "OTLP/HTTP (JSON) traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset: no spans are exported."),
        .init("tracing.service_name", .string, default: "breakglass-worker", "service.name of the exported spans."),
        // log
        .init("log.level", .string, default: "info", "trace, debug, info, notice, warning, error, critical."),
        .init("log.format", .string, default: "json", "json (JSON lines) or text."),
    ]

    public static func spec(_ name: String) -> ConfigurationKey? {
        all.first { $0.name == name }
    }
}
