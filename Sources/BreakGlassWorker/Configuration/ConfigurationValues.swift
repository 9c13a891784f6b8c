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
            case .stringList: self = .stringList(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
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
    /// Keys set by the file, the environment or `--set` (the others hold their default).
    var explicitKeys: Set<String> = []

    /// Whether `key` was set (file, environment, `--set`) rather than left at its default.
    public func isSet(_ key: String) -> Bool { explicitKeys.contains(key) }

    public init() {}

    public func string(_ key: String) -> String? {
        if case .string(let text)? = storage[key], !text.isEmpty { return text }
        return nil
    }

    public func int(_ key: String) -> Int? {
        if case .int(let value)? = storage[key] { return value }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = storage[key] { return value }
        return nil
    }

    public func stringList(_ key: String) -> [String]? {
        if case .stringList(let values)? = storage[key], !values.isEmpty { return values }
        return nil
    }

    /// A secret from `<key>` or, preferred, the file named by `<key>_file` (trailing newline trimmed).
    public func secret(_ key: String, fileKey: String) throws(ConfigurationError) -> Secret? {
        if let path = string(fileKey) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .unreadableSecretFile(fileKey, path)
            }
            return Secret(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return string(key).map(Secret.init)
    }

    func validate() throws(ConfigurationError) {
        if let heartbeat = int("amqp.heartbeat_seconds"), heartbeat < 1 {
            throw .missingValue("amqp.heartbeat_seconds", "must be at least 1 (heartbeats are never disabled)")
        }
        if let inFlight = int("worker.in_flight"), !(1...64).contains(inFlight) {
            throw .missingValue("worker.in_flight", "must be from 1 to 64")
        }
        for key in ["console.page_timeout_seconds", "console.confirmation_timeout_seconds"] {
            if let seconds = int(key), !(1...600).contains(seconds) { throw .missingValue(key, "must be from 1 to 600") }
        }
        if let deadline = int("gate.deadline_seconds"), !(1...600).contains(deadline) {
            throw .missingValue("gate.deadline_seconds", "must be from 1 to 600")
        }
        if let format = string("log.format"), !["json", "text"].contains(format) {
            throw .missingValue("log.format", "must be json or text")
        }
        if let url = string("amqp.url"), !(url.hasPrefix("amqp://") || url.hasPrefix("amqps://")) {
            throw .missingValue("amqp.url", "must start with amqp:// or amqps://")
        }
        if let isolation = string("webdriver.isolation"), DriverPortGuard.Mode(rawValue: isolation) == nil {
            throw .missingValue("webdriver.isolation", "must be auto, required or off")
        }
        // The console password and the source token cross these connections (issue 16.2).
        if bool("security.allow_plain_http") != true {
            for key in ["console.url", "sources.base_url"] {
                if let url = string(key), Self.isPlainHTTPOffLoopback(url) {
                    throw .missingValue(key, "http:// is accepted on loopback only; use https:// or set security.allow_plain_http (a lab)")
                }
            }
        }
    }

    /// `http://` to a host other than loopback (127.0.0.0/8, ::1, localhost).
    static func isPlainHTTPOffLoopback(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http" else { return false }
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
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" || $0 == " " || $0 == "\"" } ?? rest.endIndex
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
        ]
        var openSections: [String] = []
        for spec in all {
            let parts = spec.name.split(separator: ".").map(String.init)
            let sections = Array(parts.dropLast())
            var common = 0
            while common < min(sections.count, openSections.count), sections[common] == openSections[common] { common += 1 }
            openSections = Array(openSections.prefix(common))
            for index in common..<sections.count {
                if index == 0 { lines.append("") }
                lines.append(String(repeating: "  ", count: index) + sections[index] + ":")
                openSections.append(sections[index])
            }
            let indent = String(repeating: "  ", count: sections.count)
            lines.append(indent + "# " + spec.help + (spec.isSecret ? " SECRET." : "") + " (env \(spec.environmentName))")
            if let value = spec.defaultValue {
                let rendered = spec.kind == .string ? "\"\(value)\"" : value
                lines.append(indent + "\(parts.last!): \(rendered)")
            } else {
                lines.append(indent + "# \(parts.last!):")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
