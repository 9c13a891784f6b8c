/// The key/value rules of `Masker`: JSON members and `key=value` / `key: value` pairs whose key names a secret lose
/// their value. Scanners over UTF-8 bytes, like the pattern rules (`Masker+Patterns.swift`).
extension Masker {
    /// Substrings of a key name (lower case, without `-`/`_`) that make its value secret wherever they appear.
    static let secretKeyFragments = [
        "password", "passwd", "secret", "token", "cookie", "csrf", "xsrf", "apikey",
        "authorization", "privatekey", "credential",
    ]
    private static let secretKeyFragmentBytes = secretKeyFragments.map { Array($0.utf8) }
    private static let maskedJSONValue = Array("***\"".utf8)

    /// Whether a key names a secret: lower-cased and without `-` and `_`, it is one of `configuration.secretKeys` or
    /// contains one of `secretKeyFragments` (`X-Api-Key` → `xapikey`, which contains `apikey`).
    func isSecretKey(_ key: Substring) -> Bool {
        if key.utf8.allSatisfy({ $0 < 0x80 }) { return isSecretKey(asciiKey: ArraySlice(key.utf8)) }
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" }
        if configuration.secretKeys.contains(normalized) { return true }
        return Self.secretKeyFragments.contains { normalized.contains($0) }
    }

    /// `isSecretKey` for an ASCII key, without building a string unless the configured names must be looked up
    /// (and then a short one, stored inline).
    func isSecretKey(asciiKey key: ArraySlice<UInt8>) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: key.count) { buffer in
            var length = 0
            for byte in key where byte != UInt8(ascii: "-") && byte != UInt8(ascii: "_") {
                buffer[length] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
                length += 1
            }
            let normalized = UnsafeBufferPointer(rebasing: buffer[..<length])
            for fragment in Self.secretKeyFragmentBytes where Self.contains(normalized, fragment) { return true }
            return configuration.secretKeys.contains(String(decoding: normalized, as: UTF8.self))
        }
    }

    private static func contains(_ text: UnsafeBufferPointer<UInt8>, _ fragment: [UInt8]) -> Bool {
        guard !fragment.isEmpty, text.count >= fragment.count else { return false }
        var start = 0
        while start <= text.count - fragment.count {
            var length = 0
            while length < fragment.count, text[start + length] == fragment[length] { length += 1 }
            if length == fragment.count { return true }
            start += 1
        }
        return false
    }

    /// `"password": "x"`, `password=x`, `token: x` (key naming a secret) keep the key only: JSON members first, then
    /// pairs, over the members' result.
    func maskKeyValues(_ text: [UInt8]) -> [UInt8]? {
        let members = maskJSONMembers(text)
        return maskPairs(members ?? text) ?? members
    }

    /// JSON string members whose key names a secret: `"api_key": "k-1"` → `"api_key": "***"`.
    ///
    /// A member, searched from left to right: `"`, a key of 2 to 64 characters `A-Z a-z 0-9 _ . -`, `"`, optional
    /// whitespace, `:`, optional whitespace, then a string value: `"`, any scalars (line ends included) except `"`
    /// and `\`, or `\` followed by a scalar that is not a newline, then the closing `"`. A member whose value is
    /// empty or already `***`, or whose key is not secret, stays as it is; the search goes on after the member
    /// either way (so a member's value is never searched for another member).
    func maskJSONMembers(_ text: [UInt8]) -> [UInt8]? {
        guard text.contains(UInt8(ascii: "\"")) else { return nil }
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            guard pass.input[i] == UInt8(ascii: "\""), let member = pass.jsonMember(at: i) else {
                i += 1
                continue
            }
            let value = member.valueStart..<(member.end - 1)
            if !value.isEmpty, !pass.isReplacement(value), isSecretKey(asciiKey: pass.input[(i + 1)..<member.keyEnd]) {
                pass.replace(i..<member.end, keepingUpTo: member.valueStart, with: Self.maskedJSONValue)
            }
            i = member.end
        }
        return pass.finish()
    }

    /// `key=value` (query strings, cookies, forms) and `key: value` in prose, whose key names a secret:
    /// `csrf_token=zz99` → `csrf_token=***`.
    ///
    /// A pair, searched from left to right: a word boundary (the key does not follow a letter or `_`; it may follow
    /// a digit, a dot or a dash, so `x.password=v` is a pair), a key of 2 to 64 characters (an ASCII letter, then
    /// `A-Z a-z 0-9 _ -`; a longer run is no key), then `=`, or `:` followed by optional spaces and tabs, then the
    /// value: the longest run of scalars other than whitespace and `& ; , " ' < >`, at least one. A pair whose value
    /// is already `***`, or whose key is not secret, stays as it is; the search goes on after the pair either way
    /// (`user=password=x` is one pair, with key `user`).
    func maskPairs(_ text: [UInt8]) -> [UInt8]? {
        var pass = MaskingPass(text)
        var i = 0
        while i < pass.count {
            // A pair starts at a word boundary before an ASCII letter.
            guard MaskingPass.isASCIILetter(pass.input[i]), !pass.isWordCharacter(before: i),
                let pair = pass.pair(at: i)
            else {
                i += 1
                continue
            }
            let value = pair.valueStart..<pair.end
            if !pass.isReplacement(value), isSecretKey(asciiKey: pass.input[i..<pair.keyEnd]) {
                pass.replace(i..<pair.end, keepingUpTo: pair.valueStart, with: Self.replacementBytes)
            }
            i = pair.end
        }
        return pass.finish()
    }
}

extension MaskingPass {
    /// The JSON member starting with the `"` at `i`: where its key ends (at its closing `"`), where its value starts
    /// (after the opening `"`) and where the member ends (after the closing `"`).
    fileprivate func jsonMember(at i: Int) -> (keyEnd: Int, valueStart: Int, end: Int)? {
        let keyStart = i + 1
        var keyEnd = keyStart
        while keyEnd < count, keyEnd - keyStart < 64, Self.isJSONKeyByte(input[keyEnd]) { keyEnd += 1 }
        guard keyEnd - keyStart >= 2, keyEnd < count, input[keyEnd] == UInt8(ascii: "\"") else { return nil }
        let colon = endOfWhitespace(from: keyEnd + 1)
        guard colon < count, input[colon] == UInt8(ascii: ":") else { return nil }
        let open = endOfWhitespace(from: colon + 1)
        guard open < count, input[open] == UInt8(ascii: "\"") else { return nil }
        var j = open + 1
        while j < count {
            switch input[j] {
            case UInt8(ascii: "\""):
                return (keyEnd, open + 1, j + 1)
            case UInt8(ascii: "\\"):
                guard j + 1 < count else { return nil }
                let escaped = nonNewlineLength(at: j + 1)
                guard escaped > 0 else { return nil }
                j += 1 + escaped
            default:
                j += 1
            }
        }
        return nil
    }

    /// The pair whose key starts with the letter at `i` (at a word boundary): where its key ends, where its value
    /// starts and ends.
    fileprivate func pair(at i: Int) -> (keyEnd: Int, valueStart: Int, end: Int)? {
        var keyEnd = i + 1
        while keyEnd < count, keyEnd - i < 64, Self.isPairKeyByte(input[keyEnd]) { keyEnd += 1 }
        guard keyEnd - i >= 2, keyEnd < count else { return nil }
        var valueStart = keyEnd + 1
        switch input[keyEnd] {
        case UInt8(ascii: "="):
            break
        case UInt8(ascii: ":"):
            while valueStart < count, input[valueStart] == 0x20 || input[valueStart] == 0x09 { valueStart += 1 }
        default:
            return nil
        }
        var end = valueStart
        while end < count {
            let length = pairValueLength(at: end)
            if length == 0 { break }
            end += length
        }
        guard end > valueStart else { return nil }
        return (keyEnd, valueStart, end)
    }

    /// The length of the scalar at `i` when it may be part of a pair's value, else 0.
    private func pairValueLength(at i: Int) -> Int {
        let byte = input[i]
        guard byte < 0x80 else { return whitespaceLength(at: i) == 0 ? scalar(at: i).length : 0 }
        switch byte {
        case UInt8(ascii: "&"), UInt8(ascii: ";"), UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: "'"),
            UInt8(ascii: "<"), UInt8(ascii: ">"):
            return 0
        default:
            return Self.isASCIIWhitespace(byte) ? 0 : 1
        }
    }

    /// Whether `input[range]` is the replacement (`***`) itself.
    fileprivate func isReplacement(_ range: Range<Int>) -> Bool {
        let star = UInt8(ascii: "*")
        return range.count == 3 && input[range.lowerBound] == star && input[range.lowerBound + 1] == star
            && input[range.lowerBound + 2] == star
    }

    /// `A-Z a-z 0-9 _ . -`
    private static func isJSONKeyByte(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// `A-Z a-z 0-9 _ -`
    private static func isPairKeyByte(_ byte: UInt8) -> Bool {
        isASCIIAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}
