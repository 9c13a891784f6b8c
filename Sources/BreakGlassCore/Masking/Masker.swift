/// Masks secrets and personal data in text before it reaches evidence, a takeover record, a log line or an event.
///
/// Pure and deterministic. What it masks:
/// - every literal secret it was given (the console password, the bearer token, ...), wherever it appears;
/// - e-mail addresses (`jane.doe@acme.example` → `j***@***.example`);
/// - bearer/basic credentials and JWT-like tokens (`Bearer abc...` → `Bearer ***`);
/// - cookies (`Cookie:` / `Set-Cookie:` values) and `key=value` / `"key": "value"` pairs whose key names a secret
///   (`password`, `token`, `secret`, `session`, `csrf`, `cookie`, `authorization`, `api_key`, ...);
/// - long opaque tokens (24+ characters of base64/hex alphabet mixing letters and digits), keeping the last 4.
///
/// Identifiers can be shortened to their last characters with `maskIdentifier(_:keep:)`.
///
/// The rules scan the text's UTF-8 bytes; they were regular expressions, and find what those found matched over
/// Unicode scalars with simple word boundaries (`MaskingPass` says what whitespace and a word character are;
/// `MaskerDifferentialTests` compares the two).
public struct Masker: Sendable, Hashable {
    /// What the masker replaces a secret with.
    public static let replacement = "***"

    /// Literal secret values (at least `Configuration.minimumLiteralLength` characters) replaced anywhere.
    public private(set) var literals: [String]
    public var configuration: Configuration

    public struct Configuration: Sendable, Hashable {
        /// Characters kept at the end of a long opaque token. Default 4.
        public var keepTokenSuffix: Int
        /// Shortest run of token characters treated as an opaque token. Default 24.
        public var minimumTokenLength: Int
        /// Literal secrets shorter than this are ignored (masking "a" everywhere would destroy the text).
        /// Default 4.
        public var minimumLiteralLength: Int
        /// Key names (lower case, compared after removing `-` and `_`) whose values are always masked.
        public var secretKeys: Set<String>

        public init(
            keepTokenSuffix: Int = 4, minimumTokenLength: Int = 24, minimumLiteralLength: Int = 4,
            secretKeys: Set<String> = Configuration.defaultSecretKeys
        ) {
            self.keepTokenSuffix = keepTokenSuffix
            self.minimumTokenLength = minimumTokenLength
            self.minimumLiteralLength = minimumLiteralLength
            self.secretKeys = secretKeys
        }

        public static let defaultSecretKeys: Set<String> = [
            "password", "passwd", "pwd", "secret", "token", "accesstoken", "refreshtoken", "idtoken", "apikey",
            "authorization", "auth", "cookie", "setcookie", "session", "sessionid", "csrf", "csrftoken", "xsrf",
            "bearer", "privatekey", "clientsecret", "bgsimsession",
        ]
    }

    public init(literals: [String] = [], configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.literals = []
        for literal in literals { add(literal: literal) }
    }

    /// Adds a literal secret (ignored when shorter than the minimum); longest literals are replaced first.
    public mutating func add(literal: String) {
        guard literal.count >= configuration.minimumLiteralLength, !literals.contains(literal) else { return }
        literals.append(literal)
        literals.sort { $0.count > $1.count }
    }

    /// A copy that also masks `secret`.
    public func adding(_ secret: Secret) -> Masker {
        var copy = self
        copy.add(literal: secret.revealed)
        return copy
    }

    /// `text` with every secret and personal datum masked.
    ///
    /// The rules run in order, each over the previous one's result: literal secrets, headers, authorization
    /// schemes, key/value pairs (JSON members, then `key=value`), e-mail addresses, opaque tokens. They scan the
    /// UTF-8 bytes (`Masker+Patterns.swift`, `Masker+KeyValues.swift`); text none of them changes is returned as it
    /// came.
    public func mask(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        func apply(_ masked: [UInt8]?) {
            guard let masked else { return }
            bytes = masked
            changed = true
        }
        apply(maskLiterals(bytes))
        apply(Self.maskHeaders(bytes))
        apply(Self.maskAuthorizationSchemes(bytes))
        apply(maskKeyValues(bytes))
        apply(Self.maskEmails(bytes))
        apply(maskOpaqueTokens(bytes))
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    /// The text with every literal secret replaced, longest first, each over the previous one's result; nil when
    /// there was none.
    ///
    /// Found as Foundation's `replacingOccurrences(of:with:)` finds them: canonically equivalent text counts
    /// (`cafe\u{301}` for `café`, the Kelvin sign for `K`), but not inside a combining sequence. When the text and the
    /// literal are both ASCII, that is plain byte equality, and a byte search finds the literal instead (Foundation's
    /// search costs tens of microseconds per literal on a few kilobytes).
    func maskLiterals(_ text: [UInt8]) -> [UInt8]? {
        guard !literals.isEmpty else { return nil }
        var result = text
        var changed = false
        var resultIsASCII = Self.isASCII(result)
        for literal in literals {
            let needle = Array(literal.utf8)
            if resultIsASCII, !needle.isEmpty, Self.isASCII(needle) {
                guard let replaced = Self.replacing(needle, in: result) else { continue }
                result = replaced
            } else {
                let string = String(decoding: result, as: UTF8.self)
                guard string.contains(literal) else { continue }
                result = Array(string.replacingOccurrences(of: literal, with: Self.replacement).utf8)
                resultIsASCII = Self.isASCII(result)
            }
            changed = true
        }
        return changed ? result : nil
    }

    private static func isASCII(_ bytes: [UInt8]) -> Bool {
        var any: UInt8 = 0
        for byte in bytes { any |= byte }
        return any < 0x80
    }

    /// `text` with each occurrence of `needle` replaced, left to right without overlaps, or nil when there is none.
    private static func replacing(_ needle: [UInt8], in text: [UInt8]) -> [UInt8]? {
        var pass = MaskingPass(text)
        var i = 0
        while i + needle.count <= text.count {
            var length = 0
            while length < needle.count, text[i + length] == needle[length] { length += 1 }
            if length == needle.count {
                pass.replace(i..<(i + needle.count), keepingUpTo: i, with: replacementBytes)
                i += needle.count
            } else {
                i += 1
            }
        }
        return pass.finish()
    }

    /// An identifier shortened to its last `keep` characters (2...8, default 4): `adm-7781` → `****7781`.
    /// Identifiers of `keep` characters or fewer are masked whole.
    public static func maskIdentifier(_ identifier: String, keep: Int = 4) -> String {
        let keep = min(max(keep, 2), 8)
        guard identifier.count > keep else { return String(repeating: "*", count: max(identifier.count, 3)) }
        return String(repeating: "*", count: min(identifier.count - keep, 4)) + identifier.suffix(keep)
    }

    /// An e-mail address masked: first character of the local part and the last label of the domain kept.
    public static func maskEmail(_ email: String) -> String {
        guard let at = email.firstIndex(of: "@") else { return replacement }
        let local = email[..<at]
        let domain = email[email.index(after: at)...]
        let tld = domain.split(separator: ".").last.map { ".\($0)" } ?? ""
        return "\(local.first.map(String.init) ?? "")***@***\(tld)"
    }
}
