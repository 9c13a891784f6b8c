/// Every configuration key, typed, with its one default. Code reads configuration only through these constants
/// (`values[Config.ledgerLeaseSeconds]`); a test fails when one of them is read nowhere.
public enum Config {
    // worker
    public static let workerID = OptionalSetting<String>(
        "worker.id", "Worker id used as the ledger claim owner; default: hostname-pid.")
    public static let serviceIdentity = Setting<String>(
        "worker.service_identity", default: "svc-breakglass",
        "The worker's own service identity; an approval by it is a segregation-of-duties violation.")
    public static let eventSource = Setting<String>(
        "worker.event_source", default: "urn:breakglass:worker",
        "CloudEvents `source` of every event this worker publishes.")
    public static let inFlight = Setting<Int>(
        "worker.in_flight", default: 2, range: 1...64, "Requests processed at once, each with its own browser session.")
    public static let trustedKeysFile = Setting<String>(
        "worker.trusted_keys_file", default: "config/trusted-keys.json", path: .input,
        "Trusted Ed25519 public keys by key id (contract §3).")
    public static let drainSeconds = Setting<Int>(
        "worker.drain_seconds", default: 30, range: 0...3600,
        "On SIGTERM: how long in-flight requests may finish before they are halted safely.")
    // ledger
    public static let ledgerPath = Setting<String>(
        "ledger.path", default: "run/ledger.sqlite", path: .output,
        "SQLite ledger file, shared by the workers of a host.")
    public static let ledgerURL = OptionalSetting<String>(
        "ledger.url",
        "Where the ledger lives: unset or sqlite:PATH for an SQLite file (one host), postgres://USER@HOST:PORT/DB for a "
            + "PostgreSQL database shared by the workers of every host (?sslmode=disable|require|verify-full).")
    public static let ledgerPasswordFile = OptionalSetting<String>(
        "ledger.password_file", path: .input, "File holding the PostgreSQL password (never in the URL).")
    public static let ledgerCAFile = OptionalSetting<String>(
        "ledger.tls.ca_file", path: .input, "CA bundle to verify the PostgreSQL server with (sslmode=verify-full).")
    public static let leaseSeconds = Setting<Int>(
        "ledger.lease_seconds", default: 120, range: 1...86_400,
        "Claim lease; an expired claim may be reclaimed by another worker (epoch + 1).")
    public static let busyTimeoutMs = Setting<Int>(
        "ledger.busy_timeout_ms", default: 5000, range: 1...600_000, "SQLite busy timeout.")
    public static let ledgerOperationTimeoutSeconds = Setting<Int>(
        "ledger.operation_timeout_seconds", default: 30, range: 1...3600,
        "PostgreSQL: the longest one ledger operation may wait for the server before its connection is closed and "
            + "it fails (a server that restarted while this host was cut off never resets the old connections).")
    public static let maxResumes = Setting<Int>(
        "ledger.max_resumes", default: 3, range: 0...100, "How often a person may resume one key (takeover resume).")
    // amqp
    public static let amqpURL = Setting<String>(
        "amqp.url", default: "amqp://guest:guest@127.0.0.1:5672/", secret: true,
        "Broker URL (amqp:// or amqps://). Its password is a secret: prefer amqp.password_file.")
    public static let amqpURLs = OptionalSetting<[String]>(
        "amqp.urls", secret: true,
        "The nodes of a RabbitMQ cluster, in the order a connection tries them (then round robin after a loss); "
            + "replaces amqp.url when set. amqp.password_file applies to every node.")
    public static let amqpPasswordFile = OptionalSetting<String>(
        "amqp.password_file", path: .input, "File holding the broker password (overrides the URL's).")
    public static let heartbeatSeconds = Setting<Int>(
        "amqp.heartbeat_seconds", default: 30, range: 1...3600, "AMQP heartbeat; never 0.")
    public static let connectTimeoutSeconds = Setting<Int>(
        "amqp.connect_timeout_seconds", default: 10, range: 1...600, "TCP + AMQP handshake timeout.")
    public static let rpcTimeoutSeconds = Setting<Int>(
        "amqp.rpc_timeout_seconds", default: 10, range: 1...600, "Timeout of every AMQP RPC and socket write.")
    public static let amqpCAFile = OptionalSetting<String>(
        "amqp.tls.ca_file", path: .input, "CA bundle for amqps:// (required: rabbitmq-c 0.11 has no default CA).")
    public static let amqpCertFile = OptionalSetting<String>(
        "amqp.tls.cert_file", path: .input, "Client certificate (PEM) for amqps://, optional.")
    public static let amqpKeyFile = OptionalSetting<String>(
        "amqp.tls.key_file", path: .input, "Client key (PEM) for amqps://, optional.")
    public static let requestExchange = Setting<String>(
        "amqp.request_exchange", default: "breakglass.requests", "Request exchange (direct).")
    public static let requestQueue = Setting<String>(
        "amqp.request_queue", default: "breakglass.restorations", "Request queue (quorum).")
    public static let requestRoutingKey = Setting<String>(
        "amqp.request_routing_key", default: "restoration.approved", "Request binding key.")
    public static let deadLetterExchange = Setting<String>(
        "amqp.dead_letter_exchange", default: "breakglass.dead", "Dead-letter exchange (fanout).")
    public static let deadLetterQueue = Setting<String>(
        "amqp.dead_letter_queue", default: "breakglass.dead", "Dead-letter queue.")
    public static let eventExchange = Setting<String>(
        "amqp.event_exchange", default: "breakglass.events", "Event exchange (topic).")
    public static let deliveryLimit = Setting<Int>(
        "amqp.delivery_limit", default: 10, range: 1...1000, "Quorum queue x-delivery-limit.")
    // sources
    public static let sourcesBaseURL = Setting<String>(
        "sources.base_url", default: "http://127.0.0.1:8080", "Base URL of the live-source API (contract §4).")
    public static let sourcesToken = OptionalSetting<String>(
        "sources.token", secret: true, "Bearer token for the live sources. Prefer sources.token_file.")
    public static let sourcesTokenFile = OptionalSetting<String>(
        "sources.token_file", path: .input, "File holding the live-source bearer token.")
    public static let sourcesTimeoutMs = Setting<Int>(
        "sources.timeout_ms", default: 2000, range: 1...600_000, "Per-call timeout.")
    public static let sourcesRetryWindowSeconds = Setting<Int>(
        "sources.retry_window_seconds", default: 10, range: 0...600,
        "How long unavailability is retried (with backoff) before SOURCE_UNAVAILABLE.")
    public static let sourcesCAFile = OptionalSetting<String>(
        "sources.ca_file", path: .input, "CA bundle for https sources.")
    // gate
    public static let maxApprovalAgeMinutes = Setting<Int>(
        "gate.max_approval_age_minutes", default: 240, range: 1...525_600,
        "Older approvals are APPROVAL_STALE, though not expired.")
    public static let identityMaxAgeMinutes = Setting<Int>(
        "gate.identity_max_age_minutes", default: 1440, range: 1...525_600,
        "Identity assurance older than this is IDENTITY_UNVERIFIED.")
    public static let clockSkewSeconds = Setting<Int>(
        "gate.clock_skew_seconds", default: 30, range: 0...3600, "Tolerance for clock differences with the sources.")
    public static let gateDeadlineSeconds = Setting<Int>(
        "gate.deadline_seconds", default: 20, range: 1...600,
        "Upper bound of the whole gate and of the pre-submit recheck: a source still unanswered then is SOURCE_UNAVAILABLE."
    )
    public static let requiredRoles = OptionalSetting<[String]>(
        "gate.required_roles", "Override of the IAM policy's required_approval_roles (default: use the live policy).")
    // recovery
    public static let recoveryGraceSeconds = Setting<Int>(
        "recovery.grace_seconds", default: 300, range: 1...86_400,
        "How long after its lease lapsed an in-flight key with no delivery coming back becomes a takeover record (at least the lease + the confirmation bound): long enough for a redelivery behind a backlog."
    )
    // console
    public static let consoleURL = Setting<String>(
        "console.url", default: "http://127.0.0.1:8080",
        "Base URL of the emergency admin console (the map's paths are relative to it).")
    public static let consoleMapFile = Setting<String>(
        "console.map_file", default: "config/consoles/reference.yaml", path: .input,
        "Console map (screens, fields, assertions).")
    public static let consoleUsername = Setting<String>(
        "console.username", default: "svc-breakglass", "Console service account.")
    public static let consolePassword = OptionalSetting<String>(
        "console.password", secret: true, "Console password. Prefer console.password_file.")
    public static let consolePasswordFile = OptionalSetting<String>(
        "console.password_file", path: .input, "File holding the console password.")
    public static let pageTimeoutSeconds = OptionalSetting<Int>(
        "console.page_timeout_seconds", range: 1...600,
        "Overrides the map's timeouts.screen_ms (bound on recognising each screen) when set.")
    public static let confirmationTimeoutSeconds = OptionalSetting<Int>(
        "console.confirmation_timeout_seconds", range: 1...600,
        "Overrides the map's timeouts.confirmation_ms (bound on the confirmation after the click) when set.")
    public static let grantVerifyWindowSeconds = Setting<Int>(
        "console.grant_verify_window_seconds", default: 15, range: 1...600,
        "Window for the grant to show in IAM admin-state (else GRANT_UNVERIFIED).")
    public static let signInAhead = Setting<Bool>(
        "console.sign_in_ahead", default: true,
        "Sign idle browser sessions in to the console ahead of requests (only the service account's credentials are entered ahead; a request reloads the page and signs in again when the console ended the session)."
    )
    public static let signInAheadMaxAgeSeconds = Setting<Int>(
        "console.sign_in_ahead_max_age_seconds", default: 120, range: 5...3600,
        "A session signed in ahead longer ago than this is signed in again from the start by the request that gets it."
    )
    // webdriver
    public static let webDriverURL = OptionalSetting<String>(
        "webdriver.url", "A running WebDriver endpoint; empty: the worker starts chromedriver itself.")
    public static let webDriverIsolation = Setting<String>(
        "webdriver.isolation", default: "auto", choices: ["auto", "required", "off"],
        "Keep other local users off the managed chromedriver's port: auto (an nftables owner rule when root and nft are there, else a warning), required (refuse to start without it), off (the deployment isolates the worker)."
    )
    public static let chromeDriverPath = Setting<String>(
        "webdriver.chromedriver_path", default: "/usr/bin/chromedriver", path: .input, "chromedriver binary.")
    public static let chromiumPath = Setting<String>(
        "webdriver.chromium_path", default: "/usr/bin/chromium", path: .input, "Chromium binary.")
    // evidence
    public static let evidenceDir = Setting<String>(
        "evidence.dir", default: "run/evidence", path: .output, "Where sealed evidence bundles are written.")
    public static let evidenceKeyFile = OptionalSetting<String>(
        "evidence.key_file", path: .input,
        "Ed25519 seed sealing evidence manifests; default: generated beside the evidence dir.")
    public static let evidencePublicKeyFile = OptionalSetting<String>(
        "evidence.public_key_file", path: .input,
        "The trusted evidence public key (base64, or trusted-keys JSON with key ids for rotation) that report verifies bundles with; keep it apart from evidence.dir. Without it, the public half of evidence.key_file; report refuses to run with neither."
    )
    // security
    public static let allowPlainHTTP = Setting<Bool>(
        "security.allow_plain_http", default: false,
        "Accept http:// console and source URLs off loopback (a lab only: the console password and the source token then cross the network in the clear)."
    )
    // ops
    public static let opsHost = Setting<String>(
        "ops.host", default: "127.0.0.1", "Ops HTTP server address (/livez, /readyz, /metrics).")
    public static let opsPort = Setting<Int>(
        "ops.port", default: 9090, range: 0...65_535, "Ops HTTP server port; 0 disables it.")
    // status
    public static let statusToken = OptionalSetting<String>(
        "status.token", secret: true, "Bearer token of the status API. Prefer status.token_file.")
    public static let statusTokenFile = OptionalSetting<String>(
        "status.token_file", path: .input,
        "File holding the bearer token of the restoration status API on the ops server (/v1/...); unset: the API is off."
    )
    public static let statusPublicURL = OptionalSetting<String>(
        "status.public_url",
        "How other hosts reach this worker's status API (e.g. https://worker-1.example:9443): evidence-ready events then name <url>/v1/evidence/<bundle_id> as the location, not a local path."
    )
    // tracing
    public static let otlpEndpoint = OptionalSetting<String>(
        "tracing.otlp_endpoint",
        "OTLP/HTTP (JSON) traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset: no spans are exported.")
    public static let tracingServiceName = Setting<String>(
        "tracing.service_name", default: "breakglass-worker", "service.name of the exported spans.")
    // log
    public static let logLevel = Setting<String>(
        "log.level", default: "info", choices: ["trace", "debug", "info", "notice", "warning", "error", "critical"],
        "trace, debug, info, notice, warning, error, critical.")
    public static let logFormat = Setting<String>(
        "log.format", default: "json", choices: ["json", "text"], "json (JSON lines) or text.")
}

/// The registry: every key of ``Config`` in documentation order.
public enum ConfigurationKeys {
    public static let all: [ConfigurationKey] = [
        Config.workerID.spec, Config.serviceIdentity.spec, Config.eventSource.spec, Config.inFlight.spec,
        Config.trustedKeysFile.spec, Config.drainSeconds.spec,
        Config.ledgerPath.spec, Config.ledgerURL.spec, Config.ledgerPasswordFile.spec, Config.ledgerCAFile.spec,
        Config.leaseSeconds.spec, Config.busyTimeoutMs.spec, Config.ledgerOperationTimeoutSeconds.spec,
        Config.maxResumes.spec,
        Config.amqpURL.spec, Config.amqpURLs.spec, Config.amqpPasswordFile.spec, Config.heartbeatSeconds.spec,
        Config.connectTimeoutSeconds.spec,
        Config.rpcTimeoutSeconds.spec, Config.amqpCAFile.spec, Config.amqpCertFile.spec, Config.amqpKeyFile.spec,
        Config.requestExchange.spec, Config.requestQueue.spec, Config.requestRoutingKey.spec,
        Config.deadLetterExchange.spec, Config.deadLetterQueue.spec, Config.eventExchange.spec,
        Config.deliveryLimit.spec,
        Config.sourcesBaseURL.spec, Config.sourcesToken.spec, Config.sourcesTokenFile.spec,
        Config.sourcesTimeoutMs.spec,
        Config.sourcesRetryWindowSeconds.spec, Config.sourcesCAFile.spec,
        Config.maxApprovalAgeMinutes.spec, Config.identityMaxAgeMinutes.spec, Config.clockSkewSeconds.spec,
        Config.gateDeadlineSeconds.spec, Config.requiredRoles.spec,
        Config.recoveryGraceSeconds.spec,
        Config.consoleURL.spec, Config.consoleMapFile.spec, Config.consoleUsername.spec, Config.consolePassword.spec,
        Config.consolePasswordFile.spec, Config.pageTimeoutSeconds.spec, Config.confirmationTimeoutSeconds.spec,
        Config.grantVerifyWindowSeconds.spec, Config.signInAhead.spec, Config.signInAheadMaxAgeSeconds.spec,
        Config.webDriverURL.spec, Config.webDriverIsolation.spec, Config.chromeDriverPath.spec,
        Config.chromiumPath.spec,
        Config.evidenceDir.spec, Config.evidenceKeyFile.spec, Config.evidencePublicKeyFile.spec,
        Config.allowPlainHTTP.spec,
        Config.opsHost.spec, Config.opsPort.spec,
        Config.statusToken.spec, Config.statusTokenFile.spec, Config.statusPublicURL.spec,
        Config.otlpEndpoint.spec, Config.tracingServiceName.spec,
        Config.logLevel.spec, Config.logFormat.spec,
    ]

    public static func spec(_ name: String) -> ConfigurationKey? {
        index[name]
    }

    private static let index: [String: ConfigurationKey] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// `BREAKGLASS_*` variables that are not configuration keys: test and lab harness settings, crash drills. Any
    /// other `BREAKGLASS_*` variable is an error (a misspelt key must not silently fall back to its default).
    static let reservedEnvironmentPrefixes = [
        "BREAKGLASS_TEST_", "BREAKGLASS_DEMO_", "BREAKGLASS_BENCH_", "BREAKGLASS_CHAOS_", "BREAKGLASS_SIM_",
        "BREAKGLASS_FUZZ", "BREAKGLASS_BUILD_", "BREAKGLASS_APT_", "BREAKGLASS_BIN", "BREAKGLASS_CRASH_",
        "BREAKGLASS_FREEZE_", "BREAKGLASS_WRITE_",
    ]
}
