/// The pattern rules of `Masker`, over the compiled expressions of `MaskerPatterns`.
extension Masker {
    /// Substrings of a key name (lower case, without `-`/`_`) that make its value secret wherever they appear.
    static let secretKeyFragments = [
        "password", "passwd", "secret", "token", "cookie", "csrf", "xsrf", "apikey",
        "authorization", "privatekey", "credential",
    ]

    func isSecretKey(_ key: Substring) -> Bool {
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" }
        if configuration.secretKeys.contains(normalized) { return true }
        return Self.secretKeyFragments.contains { normalized.contains($0) }
    }

    /// `Cookie:`, `Set-Cookie:` and `Authorization:` header lines keep their name only.
    static func maskHeaders(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("cookie") || text.localizedCaseInsensitiveContains("authorization")
        else { return text }
        return MaskerPatterns.with { patterns in
            text.replacing(patterns.headers) { match in
                "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(replacement)"
            }
        }
    }

    /// `Bearer <token>` / `Basic <credentials>` keep the scheme only.
    static func maskAuthorizationSchemes(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("bearer") || text.localizedCaseInsensitiveContains("basic")
        else { return text }
        return MaskerPatterns.with { patterns in
            text.replacing(patterns.schemes) { match in
                "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(replacement)"
            }
        }
    }

    /// `"password": "x"`, `password=x`, `token: x` (key naming a secret) keep the key only.
    func maskKeyValues(_ text: String) -> String {
        MaskerPatterns.with { patterns in maskKeyValues(text, patterns) }
    }

    private func maskKeyValues(_ text: String, _ patterns: MaskerPatterns) -> String {
        // JSON string members.
        var result = text.replacing(patterns.jsonMembers) { match in
            let key = match.output[1].substring ?? ""
            let value = match.output[3].substring ?? ""
            guard isSecretKey(key), value != Self.replacement, !value.isEmpty else {
                return String(match.output[0].substring ?? "")
            }
            return "\"\(key)\"\(match.output[2].substring ?? "")\"\(Self.replacement)\""
        }
        // key=value (query strings, cookies, forms) and `key: value` in prose.
        result = result.replacing(patterns.pairs) { match in
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
        return MaskerPatterns.with { patterns in
            text.replacing(patterns.emails) { match in maskEmail(String(match.output[0].substring ?? "")) }
        }
    }

    /// Long opaque tokens (base64, hex, random ids) keep their last characters: `***1106`.
    ///
    /// A run counts as a token when it has `minimumTokenLength` characters or more, mixes letters and digits, and
    /// has a piece of 20+ characters between `-`/`_` separators (so dashed identifiers such as UUIDs or bundle ids
    /// stay readable).
    func maskOpaqueTokens(_ text: String) -> String {
        let minimum = configuration.minimumTokenLength
        return MaskerPatterns.with { patterns in maskOpaqueTokens(text, patterns.tokens(minimum: minimum)) }
    }

    private func maskOpaqueTokens(_ text: String, _ regex: Regex<AnyRegexOutput>) -> String {
        text.replacing(regex) { match in
            let run = match.output[0].substring ?? ""
            let hasLetter = run.contains { $0.isLetter }
            let hasDigit = run.contains { $0.isNumber }
            let longestPiece = run.split(whereSeparator: { $0 == "-" || $0 == "_" }).map(\.count).max() ?? 0
            guard hasLetter, hasDigit, longestPiece >= 20 else { return String(run) }
            return Self.replacement + run.suffix(configuration.keepTokenSuffix)
        }
    }
}
