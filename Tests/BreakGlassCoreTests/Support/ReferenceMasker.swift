import BreakGlassCore
import Foundation

/// `Masker.mask` as it was written with Swift `Regex` (before the byte scanners of `Masker+Patterns.swift` and
/// `Masker+KeyValues.swift`): the same expressions, the same pass order, the same replacement closures and guards,
/// the same cheap pre-checks. The differential test (`MaskerDifferentialTests`) holds the scanners to it.
///
/// One deliberate change from the original: every expression matches over Unicode scalars
/// (`.matchingSemantics(.unicodeScalar)`, where the default was grapheme clusters, under which `\r\n` is one
/// character that `[^\r\n]` matched) and uses simple word boundaries (`.wordBoundaryKind(.simple)`, where the
/// default was UAX #29 words, under which `x.password` was one word and `\b` did not hold before `password`).
///
/// Not `Sendable` (`Regex` is not): make one per test.
struct ReferenceMasker {
    let literals: [String]
    let configuration: Masker.Configuration

    let headers = try! Regex(#"((?:set-)?cookie|(?:proxy-)?authorization)(\s*:\s*)([^\r\n]+)"#).ignoresCase()
        .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    let schemes = try! Regex(#"\b(bearer|basic)(\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+"#).ignoresCase()
        .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    let jsonMembers = try! Regex(#""([A-Za-z0-9_.-]{2,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#)
        .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    let pairs = try! Regex(#"\b([A-Za-z][A-Za-z0-9_-]{1,63})(=|:[ \t]*)([^&;,\s"'<>]+)"#)
        .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    let emails = try! Regex(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#)
        .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    let tokens: Regex<AnyRegexOutput>

    /// The reference for `masker`: its literals (already filtered and ordered) and its configuration.
    init(_ masker: Masker) {
        literals = masker.literals
        configuration = masker.configuration
        tokens = try! Regex("[A-Za-z0-9+/=_-]{\(masker.configuration.minimumTokenLength),}")
            .matchingSemantics(.unicodeScalar).wordBoundaryKind(.simple)
    }

    static let replacement = Masker.replacement

    static let secretKeyFragments = [
        "password", "passwd", "secret", "token", "cookie", "csrf", "xsrf", "apikey",
        "authorization", "privatekey", "credential",
    ]

    func mask(_ text: String) -> String {
        var result = text
        for literal in literals where result.contains(literal) {
            result = result.replacingOccurrences(of: literal, with: Self.replacement)
        }
        result = maskHeaders(result)
        result = maskAuthorizationSchemes(result)
        result = maskKeyValues(result)
        result = maskEmails(result)
        result = maskOpaqueTokens(result)
        return result
    }

    func isSecretKey(_ key: Substring) -> Bool {
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" }
        if configuration.secretKeys.contains(normalized) { return true }
        return Self.secretKeyFragments.contains { normalized.contains($0) }
    }

    func maskHeaders(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("cookie") || text.localizedCaseInsensitiveContains("authorization")
        else { return text }
        return text.replacing(headers) { match in
            "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(Self.replacement)"
        }
    }

    func maskAuthorizationSchemes(_ text: String) -> String {
        guard text.localizedCaseInsensitiveContains("bearer") || text.localizedCaseInsensitiveContains("basic")
        else { return text }
        return text.replacing(schemes) { match in
            "\(match.output[1].substring ?? "")\(match.output[2].substring ?? "")\(Self.replacement)"
        }
    }

    func maskKeyValues(_ text: String) -> String {
        // JSON string members.
        var result = text.replacing(jsonMembers) { match in
            let key = match.output[1].substring ?? ""
            let value = match.output[3].substring ?? ""
            guard isSecretKey(key), value != Self.replacement, !value.isEmpty else {
                return String(match.output[0].substring ?? "")
            }
            return "\"\(key)\"\(match.output[2].substring ?? "")\"\(Self.replacement)\""
        }
        // key=value (query strings, cookies, forms) and `key: value` in prose.
        result = result.replacing(pairs) { match in
            let key = match.output[1].substring ?? ""
            let value = match.output[3].substring ?? ""
            guard isSecretKey(key), value != Self.replacement else { return String(match.output[0].substring ?? "") }
            return "\(key)\(match.output[2].substring ?? "")\(Self.replacement)"
        }
        return result
    }

    func maskEmails(_ text: String) -> String {
        guard text.contains("@") else { return text }
        return text.replacing(emails) { match in Self.maskEmail(String(match.output[0].substring ?? "")) }
    }

    func maskOpaqueTokens(_ text: String) -> String {
        text.replacing(tokens) { match in
            let run = match.output[0].substring ?? ""
            let hasLetter = run.contains { $0.isLetter }
            let hasDigit = run.contains { $0.isNumber }
            let longestPiece = run.split(whereSeparator: { $0 == "-" || $0 == "_" }).map(\.count).max() ?? 0
            guard hasLetter, hasDigit, longestPiece >= 20 else { return String(run) }
            return Self.replacement + run.suffix(configuration.keepTokenSuffix)
        }
    }

    static func maskEmail(_ email: String) -> String {
        guard let at = email.firstIndex(of: "@") else { return replacement }
        let local = email[..<at]
        let domain = email[email.index(after: at)...]
        let tld = domain.split(separator: ".").last.map { ".\($0)" } ?? ""
        return "\(local.first.map(String.init) ?? "")***@***\(tld)"
    }
}
