/// One configuration key as the registry lists it: its dotted name, kind, default (as YAML text) and meaning.
///
/// Code never reads a key by this untyped spec: it reads the typed constants of ``Config`` (``Setting`` or
/// ``OptionalSetting``), each of which owns one of these. The registry ``ConfigurationKeys/all`` is built from them;
/// the loader, `breakglass config example` (`config/breakglass.example.yaml`, checked by a test) and
/// `breakglass config show` (every secret redacted) read the registry.
public struct ConfigurationKey: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case string, int, double, bool, stringList
    }

    /// What a path-valued key names. A relative path set in a configuration file resolves against that file's
    /// folder (set anywhere else, or left at its default, against the working directory).
    public enum PathRole: String, Sendable, Hashable {
        /// A file the worker reads: a relative one set explicitly must exist.
        case input
        /// A file or folder the worker creates.
        case output
    }

    /// Dotted key, as in the YAML file: `amqp.url`.
    public let name: String
    public let kind: Kind
    /// The default as YAML text; nil for keys without a default (optional values).
    public let defaultValue: String?
    /// Secrets are never printed, not even by `config show`; prefer their `*_file` sibling.
    public let isSecret: Bool
    /// The accepted values of an enumerated string key (`log.level`); nil: any.
    public let choices: [String]?
    public let path: PathRole?
    /// Integer bounds, checked at load.
    public let range: ClosedRange<Int>?
    public let help: String

    init(
        _ name: String, _ kind: Kind, default defaultValue: String?, secret: Bool = false, choices: [String]? = nil,
        path: PathRole? = nil, range: ClosedRange<Int>? = nil, _ help: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultValue = defaultValue
        self.isSecret = secret
        self.choices = choices
        self.path = path
        self.range = range
        self.help = help
    }

    /// The environment variable overriding this key: `BREAKGLASS_` + the key upper-cased, dots as underscores.
    public var environmentName: String {
        "BREAKGLASS_" + name.uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
    }

    /// The section (`amqp`) and the leaf (`url`).
    var section: String { String(name.split(separator: ".").first ?? "") }
}
