public import BreakGlassCore
import BreakGlassConsole
import Foundation

/// The effective configuration: every key of ``ConfigurationKeys`` with its value (or nil when optional and
/// unset). Typed accessors read it; secrets come out only as ``Secret``.
public struct ConfigurationValues: Sendable {
    public enum Value: Sendable, Hashable {
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        case stringList([String])

        init(parsing text: String, kind: ConfigurationKey.Kind) {
            switch kind {
            case .string: self = .string(text)
            case .int: self = .int(Int(text) ?? 0)
            case .double: self = .double(Double(text) ?? 0)
            case .bool: self = .bool(text == "true")
            case .stringList:
                self = .stringList(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
        }

        var yaml: String {
            switch self {
            case .string(let text): text
            case .int(let value): String(value)
            case .double(let value): String(value)
            case .bool(let value): String(value)
            case .stringList(let values): "[" + values.joined(separator: ", ") + "]"
            }
        }
    }

    var storage: [String: Value] = [:]
    /// Keys set by the file, the environment or `--set` (the others hold their default), and where each came from.
    var origins: [String: String] = [:]

    public init() {}

    /// The key's value: what was set, else its default.
    public subscript<V>(_ key: Setting<V>) -> V {
        storage[key.name].flatMap(V.init) ?? key.defaultValue
    }

    /// The key's value, nil when unset (an empty string counts as unset).
    public subscript<V>(_ key: OptionalSetting<V>) -> V? {
        guard let value = storage[key.name].flatMap(V.init) else { return nil }
        if let text = value as? String, text.isEmpty { return nil }
        if let list = value as? [String], list.isEmpty { return nil }
        return value
    }

    /// Whether the key was set (file, environment, `--set`) rather than left at its default.
    public func isSet<V>(_ key: Setting<V>) -> Bool { origins[key.name] != nil }
    public func isSet<V>(_ key: OptionalSetting<V>) -> Bool { origins[key.name] != nil }

    /// Where the key's value came from: the file's path, `environment BREAKGLASS_…`, `--set`, or `default`.
    public func origin(of name: String) -> String { origins[name] ?? "default" }

    /// A secret from `key` or, preferred, the file named by `fileKey` (trailing newline trimmed).
    public func secret(
        _ key: OptionalSetting<String>, file fileKey: OptionalSetting<String>
    ) throws(ConfigurationError) -> Secret? {
        try secret(file: fileKey) ?? self[key].map(Secret.init)
    }

    /// A secret held only in the file named by `fileKey` (trailing newline trimmed), nil when the key is unset.
    public func secret(file fileKey: OptionalSetting<String>) throws(ConfigurationError) -> Secret? {
        guard let path = self[fileKey] else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .unreadableSecretFile(fileKey.name, path)
        }
        return Secret(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Rules across keys (a single key's range and choices are checked by the loader).
    func validate() throws(ConfigurationError) {
        let url = self[Config.amqpURL]
        if !(url.hasPrefix("amqp://") || url.hasPrefix("amqps://")) {
            throw .missingValue(Config.amqpURL.name, "must start with amqp:// or amqps://")
        }
        // The console password and the source token cross these connections (issue 16.2).
        if !self[Config.allowPlainHTTP] {
            for key in [Config.consoleURL, Config.sourcesBaseURL] where Self.isPlainHTTPOffLoopback(self[key]) {
                throw .missingValue(
                    key.name,
                    "http:// is accepted on loopback only; use https:// or set security.allow_plain_http (a lab)")
            }
        }
    }

    /// `http://` to a host other than loopback (127.0.0.0/8, ::1, localhost).
    static func isPlainHTTPOffLoopback(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http" else {
            return false
        }
        let host = (components.host ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return !(host == "localhost" || host == "::1" || host.hasPrefix("127."))
    }

    /// `key: value` lines for `breakglass config show`, secrets redacted (set or unset is shown, never the value).
    public func redactedListing() -> [String] {
        ConfigurationKeys.all.map { spec in
            let value = storage[spec.name] ?? nil
            let shown: String
            if spec.isSecret {
                shown = value == nil ? "(unset)" : "<redacted>"
            } else {
                shown = value.map { Self.redactingUserinfo($0.yaml) } ?? "(unset)"
            }
            return "\(spec.name) = \(shown)"
        }
    }

    /// `scheme://user:password@host…` → `scheme://user:<redacted>@host…` (and a lone `user@` that may be a token →
    /// `<redacted>@`), anywhere in `text`: a URL-valued key must never print its credentials (issue 16.7).
    public static func redactingUserinfo(_ text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        var output = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            output += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd =
                rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " || $0 == "\"" } ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@") {
                let userinfo = authority[..<at]
                if let colon = userinfo.firstIndex(of: ":") {
                    output += userinfo[..<colon] + ":<redacted>@"
                } else {
                    output += "<redacted>@"
                }
                rest = rest[rest.index(after: at)...]
            }
        }
        return output + rest
    }
}

extension ConfigurationKeys {
    /// The documented example file, `config/breakglass.example.yaml`, generated from the registry.
    public static func exampleYAML() -> String {
        var lines = [
            "# breakglass worker configuration: every key, its default and its meaning.",
            "# Generated by `breakglass config example`; a test checks this file against the code.",
            "# Every key can be overridden by an environment variable: BREAKGLASS_ + the key upper-cased,",
            "# dots as underscores (amqp.url -> BREAKGLASS_AMQP_URL), and on the command line with --set key=value.",
            "# Secrets (marked SECRET) are never printed, not even by `breakglass config show`; prefer their *_file keys.",
            "# A relative path set in this file resolves against this file's folder; set elsewhere, against the working",
            "# directory. Unknown keys, unknown BREAKGLASS_* variables and values out of range are errors.",
        ]
        var openSections: [String] = []
        for spec in all {
            let parts = spec.name.split(separator: ".").map(String.init)
            let sections = Array(parts.dropLast())
            var common = 0
            while common < min(sections.count, openSections.count), sections[common] == openSections[common] {
                common += 1
            }
            openSections = Array(openSections.prefix(common))
            for index in common..<sections.count {
                if index == 0 { lines.append("") }
                lines.append(String(repeating: "  ", count: index) + sections[index] + ":")
                openSections.append(sections[index])
            }
            let indent = String(repeating: "  ", count: sections.count)
            lines.append(
                indent + "# " + spec.help + (spec.isSecret ? " SECRET." : "") + " (env \(spec.environmentName))")
            if let choices = spec.choices {
                lines.append(indent + "# One of: " + choices.joined(separator: ", ") + ".")
            }
            if let value = spec.defaultValue, spec.path != nil {
                // A relative path set in this file would resolve against the file's folder: the default (relative
                // to the working directory) stays a comment.
                lines.append(indent + "# \(parts.last!): \"\(value)\"  (default, relative to the working directory)")
            } else if let value = spec.defaultValue {
                let rendered = spec.kind == .string ? "\"\(value)\"" : value
                lines.append(indent + "\(parts.last!): \(rendered)")
            } else {
                lines.append(indent + "# \(parts.last!):")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
