/// The pattern rules of `Masker` for headers, authorization schemes, e-mail addresses and opaque tokens: scanners over
/// the UTF-8 bytes of the text (see `MaskingPass` for what whitespace, a word character and a newline are).
///
/// Each rule was first a regular expression; each scanner finds the same matches the expression found (leftmost
/// first, quantifiers greedy, with the backtracking that could change a match spelled out) and replaces them the
/// same way. A rule that finds nothing returns nil, and the text is not copied.
extension Masker {
    static let replacementBytes = Array(replacement.utf8)
    private static let maskedEmailMiddle = Array("***@***.".utf8)

    /// `Cookie:`, `Set-Cookie:`, `Authorization:` and `Proxy-Authorization:` header lines keep their name only.
    ///
    /// At each place, from left to right: one of the four names in any case, optional whitespace, `:`, optional
    /// whitespace, then the value, which runs to the end of the line (the next `\r` or `\n`) or of the text and
    /// becomes `***`; the search goes on after it. The name need not start a word (`x-set-cookie: v` masks `v`).
    /// The whitespace after the colon may cross line ends (`Cookie:\n  v` masks `v`). When only whitespace follows
    /// the colon up to the end of the text, the value is the last of those whitespace scalars that is not `\r` or
    /// `\n` (kept from the expression's backtracking: `Cookie: \n ` becomes `Cookie: \n***`), and without one
    /// nothing is masked.
    static func maskHeaders(_ text: [UInt8]) -> [UInt8]? {
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            if MaskingPass.isHeaderNameStart(pass.input[i]), let (valueStart, end) = pass.header(at: i) {
                pass.replace(i..<end, keepingUpTo: valueStart, with: replacementBytes)
                i = end
            } else {
                i += 1
            }
        }
        return pass.finish()
    }

    /// `Bearer <credentials>` / `Basic <credentials>` keep the scheme only.
    ///
    /// At each place, from left to right: a word boundary (the scheme does not follow a letter or `_`), `bearer` or
    /// `basic` in any case, one or more whitespace scalars (line ends included), then credentials: the longest run
    /// of `A-Z a-z 0-9 . _ ~ + / = -`, which becomes `***`. Credentials already masked (`***`) do not match, `*` not
    /// being a credential character.
    static func maskAuthorizationSchemes(_ text: [UInt8]) -> [UInt8]? {
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            if pass.input[i] | 0x20 == UInt8(ascii: "b"), let (credentialsStart, end) = pass.scheme(at: i) {
                pass.replace(i..<end, keepingUpTo: credentialsStart, with: replacementBytes)
                i = end
            } else {
                i += 1
            }
        }
        return pass.finish()
    }

    /// Every e-mail address through `maskEmail`: `jane.doe@acme.example` → `j***@***.example`.
    ///
    /// An address is a local part (a run of `A-Z a-z 0-9 . _ % + -`, taken whole from where the search stands), `@`,
    /// then domain labels (runs of `A-Z a-z 0-9 -`) joined by single dots, of which one after the first starts with
    /// two or more ASCII letters: the last such label is the top-level domain, and the address ends after its
    /// leading letters (`a@b.example.c0m` ends at `example`; `x@y.z`, `a@b` are not addresses). What follows the
    /// address is searched again.
    static func maskEmails(_ text: [UInt8]) -> [UInt8]? {
        guard text.contains(UInt8(ascii: "@")) else { return nil }
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            guard MaskingPass.isEmailLocalByte(pass.input[i]) else {
                i += 1
                continue
            }
            var at = i + 1
            while at < pass.count, MaskingPass.isEmailLocalByte(pass.input[at]) { at += 1 }
            if at < pass.count, pass.input[at] == UInt8(ascii: "@"),
                let (tldStart, end) = pass.emailDomain(from: at + 1)
            {
                pass.replace(i..<end, keepingUpTo: i + 1, with: maskedEmailMiddle)
                pass.appendInput(tldStart..<end)
                i = end
            } else {
                // No address starts anywhere in this run: from any later start the run reaches the same end.
                i = at
            }
        }
        return pass.finish()
    }

    /// Long opaque tokens (base64, hex, random ids) keep their last characters: `***1106`.
    ///
    /// A run of `A-Z a-z 0-9 + / = _ -` counts as a token when it has `minimumTokenLength` characters or more, mixes
    /// letters and digits, and has a piece of 20+ characters between `-`/`_` separators (so dashed identifiers such
    /// as UUIDs or bundle ids stay readable). Runs are taken whole. A minimum below 1 counts as 1.
    func maskOpaqueTokens(_ text: [UInt8]) -> [UInt8]? {
        let minimum = max(configuration.minimumTokenLength, 1)
        let keep = max(configuration.keepTokenSuffix, 0)
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            guard MaskingPass.isTokenByte(pass.input[i]) else {
                i += 1
                continue
            }
            var end = i + 1
            while end < pass.count, MaskingPass.isTokenByte(pass.input[end]) { end += 1 }
            if end - i >= minimum, pass.isOpaqueToken(i..<end) {
                pass.replace(i..<end, keepingUpTo: i, with: Self.replacementBytes)
                pass.appendInput(max(i, end - keep)..<end)
            }
            i = end
        }
        return pass.finish()
    }
}

extension MaskingPass {
    /// The header rule's match at `i`: where its value starts and where the match ends.
    fileprivate func header(at i: Int) -> (valueStart: Int, end: Int)? {
        // At most one name can start at `i`: the first letter tells which (`set-cookie` is not `cookie`).
        let name: String
        switch input[i] | 0x20 {
        case UInt8(ascii: "s"): name = "set-cookie"
        case UInt8(ascii: "c"): name = "cookie"
        case UInt8(ascii: "p"): name = "proxy-authorization"
        case UInt8(ascii: "a"): name = "authorization"
        default: return nil
        }
        guard let nameEnd = endOfKeyword(name, at: i) else { return nil }
        let colon = endOfWhitespace(from: nameEnd)
        guard colon < count, input[colon] == UInt8(ascii: ":") else { return nil }
        let valueStart = endOfWhitespace(from: colon + 1)
        if valueStart < count {
            // Not whitespace, so not a line end: the value runs to the line end.
            var end = valueStart
            while end < count, input[end] != 0x0D, input[end] != 0x0A { end += 1 }
            return (valueStart, end)
        }
        // Whitespace up to the end of the text: the value is its last scalar that is not a line end.
        var end = valueStart
        while end > colon + 1 {
            let start = scalarStart(before: end)
            if input[start] != 0x0D, input[start] != 0x0A { return (start, end) }
            end = start
        }
        return nil
    }

    /// The scheme rule's match at `i`: where the credentials start and where they end.
    fileprivate func scheme(at i: Int) -> (credentialsStart: Int, end: Int)? {
        guard !isWordCharacter(before: i), let schemeEnd = endOfKeyword("bearer", at: i) ?? endOfKeyword("basic", at: i)
        else { return nil }
        let credentialsStart = endOfWhitespace(from: schemeEnd)
        guard credentialsStart > schemeEnd, credentialsStart < count, Self.isCredentialByte(input[credentialsStart])
        else { return nil }
        var end = credentialsStart + 1
        while end < count, Self.isCredentialByte(input[end]) { end += 1 }
        return (credentialsStart, end)
    }

    /// The domain of an address whose `@` is just before `start`: where its top-level domain starts and ends.
    fileprivate func emailDomain(from start: Int) -> (tldStart: Int, end: Int)? {
        var labelEnd = start
        while labelEnd < count, Self.isEmailDomainByte(input[labelEnd]) { labelEnd += 1 }
        guard labelEnd > start else { return nil }
        var tld: (tldStart: Int, end: Int)?
        while labelEnd + 1 < count, input[labelEnd] == UInt8(ascii: "."), Self.isEmailDomainByte(input[labelEnd + 1]) {
            let labelStart = labelEnd + 1
            labelEnd = labelStart + 1
            while labelEnd < count, Self.isEmailDomainByte(input[labelEnd]) { labelEnd += 1 }
            var letters = labelStart
            while letters < labelEnd, Self.isASCIILetter(input[letters]) { letters += 1 }
            if letters - labelStart >= 2 { tld = (labelStart, letters) }
        }
        return tld
    }

    /// Whether the token run `range` mixes letters and digits and has a piece of 20+ between `-`/`_`.
    fileprivate func isOpaqueToken(_ range: Range<Int>) -> Bool {
        var hasLetter = false
        var hasDigit = false
        var longestPiece = 0
        var piece = 0
        for byte in input[range] {
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") {
                piece = 0
                continue
            }
            piece += 1
            longestPiece = max(longestPiece, piece)
            if Self.isASCIILetter(byte) {
                hasLetter = true
            } else if Self.isASCIIDigit(byte) {
                hasDigit = true
            }
        }
        return hasLetter && hasDigit && longestPiece >= 20
    }

    /// The first letters of the four header names, in either case.
    fileprivate static func isHeaderNameStart(_ byte: UInt8) -> Bool {
        switch byte | 0x20 {
        case UInt8(ascii: "s"), UInt8(ascii: "c"), UInt8(ascii: "p"), UInt8(ascii: "a"): return true
        default: return false
        }
    }

    /// `A-Z a-z 0-9 . _ ~ + / = -`
    fileprivate static func isCredentialByte(_ byte: UInt8) -> Bool {
        if isASCIIAlphanumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "-"):
            return true
        default: return false
        }
    }

    /// `A-Z a-z 0-9 . _ % + -`
    fileprivate static func isEmailLocalByte(_ byte: UInt8) -> Bool {
        if isASCIIAlphanumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: "-"): return true
        default: return false
        }
    }

    /// `A-Z a-z 0-9 -`
    fileprivate static func isEmailDomainByte(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "-")
    }

    /// `A-Z a-z 0-9 + / = _ -`
    fileprivate static func isTokenByte(_ byte: UInt8) -> Bool {
        if isASCIIAlphanumeric(byte) { return true }
        switch byte {
        case UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "_"), UInt8(ascii: "-"): return true
        default: return false
        }
    }
}
