import BreakGlassCore
public import Foundation
import Yams

/// Loads configuration from, in order of precedence: command-line overrides (`--set key=value`), environment
/// variables prefixed `BREAKGLASS_` (`BREAKGLASS_AMQP_URL` → `amqp.url`), a YAML file, and the one default of each
/// key in ``Config``. Loading is separate from using: the result is a plain ``ConfigurationValues`` that each module
/// maps into its own `Configuration` struct.
///
/// Every error names the key and where its value came from (the file, `environment BREAKGLASS_…`, `--set`), never
/// the value: an unknown key in the file (found by walking the parsed YAML, so flow style works), an unknown
/// `BREAKGLASS_*` variable, a value of the wrong type, out of range or not one of the key's choices, and a relative
/// input path that does not exist. A relative path set in the file resolves against the file's folder.
public struct ConfigurationLoader: Sendable {
    public var file: String?
    public var environment: [String: String]
    public var overrides: [String: String]

    public init(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        overrides: [String: String] = [:]
    ) {
        self.file = file
        self.environment = environment
        self.overrides = overrides
    }

    public func load() async throws(ConfigurationError) -> ConfigurationValues {
        for key in overrides.keys where ConfigurationKeys.spec(key) == nil {
            throw .unknownKey(key, origin: "--set")
        }
        let byEnvironmentName = Dictionary(uniqueKeysWithValues: ConfigurationKeys.all.map { ($0.environmentName, $0) })
        for name in environment.keys.sorted() where name.hasPrefix("BREAKGLASS_") && byEnvironmentName[name] == nil {
            if ConfigurationKeys.reservedEnvironmentPrefixes.contains(where: { name.hasPrefix($0) }) { continue }
            throw .unknownVariable(name)
        }
        let fileValues = try file.map { path throws(ConfigurationError) in try Self.leaves(ofYAMLFile: path) } ?? [:]
        let fileFolder = file.map { URL(fileURLWithPath: $0).deletingLastPathComponent() }

        var values = ConfigurationValues()
        for spec in ConfigurationKeys.all {
            let value: ConfigurationValues.Value
            let origin: String
            if let text = overrides[spec.name] {
                origin = "--set"
                value = try Self.parse(text, spec, origin: origin)
            } else if let text = environment[spec.environmentName] {
                origin = "environment \(spec.environmentName)"
                value = try Self.parse(text, spec, origin: origin)
            } else if let node = fileValues[spec.name], let file {
                origin = file
                value = try Self.convert(node, spec, origin: origin)
            } else {
                if let text = spec.defaultValue { values.storage[spec.name] = .init(parsing: text, kind: spec.kind) }
                continue
            }
            values.storage[spec.name] = try Self.checked(
                value, spec, origin: origin, fromFileIn: origin == file ? fileFolder : nil)
            values.origins[spec.name] = origin
        }
        try values.validate()
        return values
    }

    /// A key's value checked against its range and choices, a path resolved (against the file's folder when it
    /// came from the file) and, for an input path given relative, required to exist.
    private static func checked(
        _ value: ConfigurationValues.Value, _ spec: ConfigurationKey, origin: String, fromFileIn folder: URL?
    ) throws(ConfigurationError) -> ConfigurationValues.Value {
        switch value {
        case .int(let number):
            if let range = spec.range, !range.contains(number) {
                throw .outOfRange(spec.name, "must be from \(range.lowerBound) to \(range.upperBound)", origin: origin)
            }
        case .string(let text):
            if let choices = spec.choices, !choices.contains(text) {
                throw .outOfRange(spec.name, "must be one of " + choices.joined(separator: ", "), origin: origin)
            }
            if let role = spec.path, !text.isEmpty, !text.hasPrefix("/") {
                let resolved = folder.map { $0.appendingPathComponent(text).standardizedFileURL.path } ?? text
                if role == .input, !FileManager.default.fileExists(atPath: resolved) {
                    let base = folder.map { "relative to \($0.path)" } ?? "relative to the working directory"
                    throw .missingPath(spec.name, resolved, base: base, origin: origin)
                }
                return .string(resolved)
            }
        default:
            break
        }
        return value
    }

    /// Text from the environment or `--set`, typed by the key's kind.
    static func parse(
        _ text: String, _ spec: ConfigurationKey, origin: String
    ) throws(ConfigurationError) -> ConfigurationValues.Value {
        switch spec.kind {
        case .string: return .string(text)
        case .int:
            guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw .invalidValue(spec.name, expected: "int", origin: origin)
            }
            return .int(number)
        case .double:
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw .invalidValue(spec.name, expected: "double", origin: origin)
            }
            return .double(number)
        case .bool:
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw .invalidValue(spec.name, expected: "bool", origin: origin)
            }
        case .stringList:
            return .stringList(
                text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
    }

    /// A parsed YAML node, typed by the key's kind.
    static func convert(
        _ node: Node, _ spec: ConfigurationKey, origin: String
    ) throws(ConfigurationError) -> ConfigurationValues.Value {
        if spec.kind == .stringList {
            if let items = node.sequence {
                var list: [String] = []
                for item in items {
                    guard let text = item.scalar?.string else {
                        throw .invalidValue(spec.name, expected: "list of strings", origin: origin)
                    }
                    list.append(text)
                }
                return .stringList(list)
            }
            guard let scalar = node.scalar else {
                throw .invalidValue(spec.name, expected: "list of strings", origin: origin)
            }
            return try parse(scalar.string, spec, origin: origin)
        }
        guard let scalar = node.scalar else {
            throw .invalidValue(spec.name, expected: spec.kind.rawValue, origin: origin)
        }
        switch spec.kind {
        case .int:
            guard let number = node.int else { throw .invalidValue(spec.name, expected: "int", origin: origin) }
            return .int(number)
        case .double:
            guard let number = node.float else { throw .invalidValue(spec.name, expected: "double", origin: origin) }
            return .double(number)
        case .bool:
            guard let flag = node.bool else { throw .invalidValue(spec.name, expected: "bool", origin: origin) }
            return .bool(flag)
        case .string, .stringList:
            return .string(scalar.string)
        }
    }

    /// Every key set in the YAML file with its node, found by walking the parsed tree: a mapping under a known
    /// section is descended into, anything else must be a known key (a typo must not silently fall back to a
    /// default). A null value (`key:` with nothing) counts as unset.
    static func leaves(ofYAMLFile path: String) throws(ConfigurationError) -> [String: Node] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .unreadableFile(path) }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch { throw .invalidFile(path) }
        guard let root else { return [:] }
        guard root.mapping != nil else { throw .invalidFile(path) }
        var found: [String: Node] = [:]
        try walk(root, prefix: "", file: path, into: &found)
        return found
    }

    private static func walk(
        _ node: Node, prefix: String, file: String, into found: inout [String: Node]
    ) throws(ConfigurationError) {
        guard let mapping = node.mapping else { return }
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string else { throw .invalidFile(file) }
            let path = prefix.isEmpty ? name : prefix + "." + name
            let isNull =
                value.scalar.map { $0.style == .plain && ["", "~", "null", "Null", "NULL"].contains($0.string) }
                ?? false
            let isSection = ConfigurationKeys.all.contains { $0.name.hasPrefix(path + ".") }
            if ConfigurationKeys.spec(path) != nil {
                if !isNull { found[path] = value }
            } else if isSection, isNull {
                continue  // a section whose keys are all commented out
            } else if isSection, value.mapping != nil {
                try walk(value, prefix: path, file: file, into: &found)
            } else {
                throw .unknownKey(path, origin: file)
            }
        }
    }
}

/// A configuration that cannot be used. Descriptions name keys and files, never values.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unreadableFile, invalidFile, unknownKey, invalidValue, missingValue, missingPath
    }
    public let code: Code
    public let detail: String

    public static func unreadableFile(_ path: String) -> Self {
        .init(code: .unreadableFile, detail: "cannot read configuration file \(path)")
    }
    public static func unreadableSecretFile(_ key: String, _ path: String) -> Self {
        let exists = FileManager.default.fileExists(atPath: path)
        return .init(
            code: .unreadableFile,
            detail: "\(key): cannot read \(path) (\(exists ? "not readable by this user" : "no such file"))")
    }
    public static func invalidFile(_ path: String) -> Self {
        .init(code: .invalidFile, detail: "configuration file \(path) is not valid YAML")
    }
    public static func unknownKey(_ key: String, origin: String) -> Self {
        .init(code: .unknownKey, detail: "unknown configuration key \(key) (in \(origin))")
    }
    public static func unknownVariable(_ name: String) -> Self {
        let near = ConfigurationKeys.all.map(\.environmentName).min { distance($0, name) < distance($1, name) }
        let hint = near.map { distance($0, name) <= 3 ? "; did you mean \($0)?" : "" } ?? ""
        return .init(
            code: .unknownKey, detail: "unknown environment variable \(name) (no such configuration key\(hint))")
    }
    public static func invalidValue(_ key: String, expected: String, origin: String? = nil) -> Self {
        .init(code: .invalidValue, detail: "\(key): expected \(expected)" + (origin.map { " (in \($0))" } ?? ""))
    }
    public static func outOfRange(_ key: String, _ rule: String, origin: String) -> Self {
        .init(code: .invalidValue, detail: "\(key): \(rule) (in \(origin))")
    }
    public static func missingPath(_ key: String, _ path: String, base: String, origin: String) -> Self {
        .init(code: .missingPath, detail: "\(key): no such file \(path) (\(base); in \(origin))")
    }
    public static func missingValue(_ key: String, _ rule: String) -> Self {
        .init(code: .missingValue, detail: "\(key): \(rule)")
    }

    public var description: String { detail }
}

/// Edit distance (for "did you mean"): small strings only.
private func distance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var previous = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return a.isEmpty ? b.count : previous[b.count]
}
