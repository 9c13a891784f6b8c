import BreakGlassCore
import Configuration
public import Foundation
import SystemPackage

/// Loads configuration from, in order of precedence: command-line overrides (`--set key=value`), environment
/// variables prefixed `BREAKGLASS_` (`BREAKGLASS_AMQP_URL` → `amqp.url`), a YAML file, and the documented
/// defaults of ``ConfigurationKeys``. Loading is separate from using: the result is a plain
/// ``ConfigurationValues`` that each module maps into its own `Configuration` struct.
public struct ConfigurationLoader: Sendable {
    public var file: String?
    public var environment: [String: String]
    public var overrides: [String: String]

    public init(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment, overrides: [String: String] = [:]) {
        self.file = file
        self.environment = environment
        self.overrides = overrides
    }

    public func load() async throws(ConfigurationError) -> ConfigurationValues {
        for key in overrides.keys where ConfigurationKeys.spec(key) == nil {
            throw .unknownKey(key, origin: "--set")
        }
        var stripped: [String: String] = [:]
        var secretNames = Set<String>()
        let known = Dictionary(uniqueKeysWithValues: ConfigurationKeys.all.map { ($0.environmentName, $0) })
        for (name, value) in environment where name.hasPrefix("BREAKGLASS_") && !name.hasPrefix("BREAKGLASS_TEST_") {
            guard let spec = known[name] else { continue }
            let short = String(name.dropFirst("BREAKGLASS_".count))
            stripped[short] = value
            if spec.isSecret { secretNames.insert(short) }
        }
        var providers: [any ConfigProvider] = []
        if !overrides.isEmpty {
            var values: [AbsoluteConfigKey: ConfigValue] = [:]
            for (key, value) in overrides {
                let spec = ConfigurationKeys.spec(key)!
                let content: ConfigContent
                switch spec.kind {
                case .string: content = .string(value)
                case .int:
                    guard let number = Int(value) else { throw .invalidValue(key, expected: "int") }
                    content = .int(number)
                case .double:
                    guard let number = Double(value) else { throw .invalidValue(key, expected: "double") }
                    content = .double(number)
                case .bool:
                    guard let flag = Bool(value) else { throw .invalidValue(key, expected: "bool") }
                    content = .bool(flag)
                case .stringList:
                    content = .stringArray(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                }
                values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] =
                    ConfigValue(content, isSecret: spec.isSecret)
            }
            providers.append(InMemoryProvider(name: "command line", values: values))
        }
        providers.append(
            EnvironmentVariablesProvider(environmentVariables: stripped, secretsSpecifier: .specific(secretNames))
        )
        if let file {
            guard FileManager.default.fileExists(atPath: file) else { throw .unreadableFile(file) }
            try Self.checkKnownKeys(inYAMLFile: file)
            do {
                providers.append(try await FileProvider<YAMLSnapshot>(filePath: FilePath(file)))
            } catch {
                throw .invalidFile(file)
            }
        }
        let reader = ConfigReader(providers: providers)
        var values = ConfigurationValues()
        for spec in ConfigurationKeys.all {
            let (value, explicit) = try Self.read(spec, from: reader)
            values.storage[spec.name] = value
            if explicit { values.explicitKeys.insert(spec.name) }
        }
        try values.validate()
        return values
    }

    /// The key's value and whether it was set (file, environment, `--set`) rather than defaulted.
    private static func read(_ spec: ConfigurationKey, from reader: ConfigReader) throws(ConfigurationError)
        -> (ConfigurationValues.Value?, Bool) {
        let key = ConfigKey(spec.name.split(separator: ".").map(String.init))
        do {
            switch spec.kind {
            case .string:
                return (.string(try reader.requiredString(forKey: key, isSecret: spec.isSecret)), true)
            case .int:
                return (.int(try reader.requiredInt(forKey: key, isSecret: spec.isSecret)), true)
            case .double:
                return (.double(try reader.requiredDouble(forKey: key, isSecret: spec.isSecret)), true)
            case .bool:
                return (.bool(try reader.requiredBool(forKey: key, isSecret: spec.isSecret)), true)
            case .stringList:
                return (.stringList(try reader.requiredStringArray(forKey: key, isSecret: spec.isSecret)), true)
            }
        } catch {
            // swift-configuration's error type is package-internal: a missing key and a value of the wrong
            // type are told apart by the one case we accept.
            if String(describing: error).hasPrefix("Missing required config value") {
                return (spec.defaultValue.map { ConfigurationValues.Value(parsing: $0, kind: spec.kind) }, false)
            }
            throw .invalidValue(spec.name, expected: spec.kind.rawValue)
        }
    }

    /// Unknown keys in the YAML file are an error (a typo must not silently fall back to a default).
    static func checkKnownKeys(inYAMLFile file: String) throws(ConfigurationError) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw .unreadableFile(file) }
        var stack: [(indent: Int, name: String)] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmingCharacters(in: .whitespaces)
            guard !content.hasPrefix("-"), let colon = content.firstIndex(of: ":") else { continue }
            let name = String(content[..<colon]).trimmingCharacters(in: .whitespaces)
            let rest = content[content.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            let path = (stack.map(\.name) + [name]).joined(separator: ".")
            if rest.isEmpty {
                stack.append((indent, name))
                if !ConfigurationKeys.all.contains(where: { $0.name.hasPrefix(path + ".") || $0.name == path }) {
                    throw .unknownKey(path, origin: file)
                }
            } else if ConfigurationKeys.spec(path) == nil {
                throw .unknownKey(path, origin: file)
            }
        }
    }
}

/// A configuration that cannot be used. Descriptions name keys and files, never values.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable { case unreadableFile, invalidFile, unknownKey, invalidValue, missingValue }
    public let code: Code
    public let detail: String

    public static func unreadableFile(_ path: String) -> Self { .init(code: .unreadableFile, detail: "cannot read configuration file \(path)") }
    public static func unreadableSecretFile(_ key: String, _ path: String) -> Self {
        let exists = FileManager.default.fileExists(atPath: path)
        return .init(code: .unreadableFile, detail: "\(key): cannot read \(path) (\(exists ? "not readable by this user" : "no such file"))")
    }
    public static func invalidFile(_ path: String) -> Self { .init(code: .invalidFile, detail: "configuration file \(path) is not valid YAML") }
    public static func unknownKey(_ key: String, origin: String) -> Self { .init(code: .unknownKey, detail: "unknown configuration key \(key) (in \(origin))") }
    public static func invalidValue(_ key: String, expected: String) -> Self { .init(code: .invalidValue, detail: "\(key): expected \(expected)") }
    public static func missingValue(_ key: String, _ rule: String) -> Self { .init(code: .missingValue, detail: "\(key): \(rule)") }

    public var description: String { detail }
}
