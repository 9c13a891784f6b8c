/// The pattern rules of `Masker`. Swift `Regex` values are not `Sendable`, so each call builds its own.
extension Masker {
    /// Substrings of a key name (lower case, without `-`/`_`) that make its value secret wherever they appear.
    static let secretKeyFragments = ["password", "passwd", "secret", "token", "cookie", "csrf", "xsrf", "apikey",
                                     "authorization", "privatekey", "credential"]

    func isSecretKey(_ key: Substring) -> Bool {
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" }
        if configuration.secretKeys.contains(normalized) { return true }
        return Self.secretKeyFragments.contains { normalized.contains($0) }
    }

    /// `Cookie:`, `Set-Cookie:` and `Authorization:` header lines keep their name only.
    static func maskHeaders(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("cookie") || text.localizedCaseInsensitiveContains("authorization")
        else { return text }
        let regex = try! Regex(#"((?:set-)?cookie|(?:proxy-)?authorization)(\s*:\s*)([^\r\n]+)"#).ignoresCase()
        return text.replacing(regex) { match in
            "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(replacement)"
        }
    }

    /// `Bearer <token>` / `Basic <credentials>` keep the scheme only.
    static func maskAuthorizationSchemes(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("bearer") || text.localizedCaseInsensitiveContains("basic")
        else { return text }
        let regex = try! Regex(#"\b(bearer|basic)(\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+"#).ignoresCase()
        return text.replacing(regex) { match in
            "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(replacement)"
        }
    }

    /// `"password": "x"`, `password=x`, `token: x` (key naming a secret) keep the key only.
    func maskKeyValues(_ text: String) -> String {
        // JSON string members.
        let json = try! Regex(#""([A-Za-z0-9_.-]{2,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#)
        var result = text.replacing(json) { match in
            let key = match.output[1].substring ?? ""
            let value = match.output[3].substring ?? ""
            guard isSecretKey(key), value != Self.replacement, !value.isEmpty else { return String(match.output[0].substring ?? "") }
            return "\"\(key)\"\(match.output[2].substring ?? "")\"\(Self.replacement)\""
        }
        // key=value (query strings, cookies, forms) and `key: value` in prose.
        let pair = try! Regex(#"\b([A-Za-z][A-Za-z0-9_-]{1,63})(=|:[ \t]*)([^&;,\s"'<>]+)"#)
        result = result.replacing(pair) { match in
            let key = match.output[1].substring ?? ""
            let value = match.output[3].substring ?? ""
            guard isSecretKey(key), value != Self.replacement else { return String(match.output[0].substring ?? "") }
            return "\(key)\(match.output[2].substring ?? "")\(Self.replacement)"
        }
        return result
    }

    /// Every e-mail address through `maskEmail`.
    static func maskEmails(_ text: String) -> String {
        guard text.contains("@") else { return text }
        let regex = try! Regex(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#)
        return text.replacing(regex) { match in maskEmail(String(match.output[0].substring ?? "")) }
    }

    /// Long opaque tokens (base64, hex, random ids) keep their last characters: `***1106`.
    ///
    /// A run counts as a token when it has `minimumTokenLength` characters or more, mixes letters and digits, and
    /// has a piece of 20+ characters between `-`/`_` separators (so dashed identifiers such as UUIDs or bundle ids
    /// stay readable).
    func maskOpaqueTokens(_ text: String) -> String {
        let minimum = configuration.minimumTokenLength
        let regex = try! Regex("[A-Za-z0-9+/=_-]{\(minimum),}")
        return text.replacing(regex) { match in
            let run = match.output[0].substring ?? ""
            let hasLetter = run.contains { $0.isLetter }
            let hasDigit = run.contains { $0.isNumber }
            let longestPiece = run.split(whereSeparator: { $0 == "-" || $0 == "_" }).map(\.count).max() ?? 0
            guard hasLetter, hasDigit, longestPiece >= 20 else { return String(run) }
            return Self.replacement + run.suffix(configuration.keepTokenSuffix)
        }
    }
}
