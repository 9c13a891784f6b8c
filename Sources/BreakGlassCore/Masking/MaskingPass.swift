/// One pass of a `Masker` rule over UTF-8 text: the input bytes, the character classes the rules test, and the
/// output, which is only built once the rule replaces something (a pass that changes nothing copies nothing).
///
/// The rules were first written as regular expressions and keep their meaning, matched over Unicode scalars (not
/// grapheme clusters: `\r\n` is two scalars, and a rule that stops at a line end stops at the `\r`):
/// - whitespace is a scalar with the Unicode `White_Space` property (U+0009–000D, U+0020, U+0085, U+00A0, U+1680,
///   U+2000–200A, U+2028, U+2029, U+202F, U+205F, U+3000);
/// - a word character, for the word boundaries some rules start at, is an alphabetic scalar (Unicode `Alphabetic`)
///   or `_`; digits are not word characters, so `1password=x` starts a word at `p` (the simple word boundary of
///   Swift `Regex` under Unicode scalar semantics, not the default UAX #29 boundary, under which `x.password` was
///   one word);
/// - a newline is U+000A–000D, U+0085, U+2028 or U+2029.
///
/// Positions are byte offsets into `input`. Every rule starts its matches at an ASCII byte, so a match never starts
/// inside a multi-byte scalar, and every replacement cuts the text at scalar boundaries.
struct MaskingPass {
    let input: [UInt8]
    let count: Int
    private var output: [UInt8] = []
    /// `input[..<copied]` is already in `output` (replaced or kept).
    private var copied = 0
    private var changed = false

    init(_ input: [UInt8]) {
        self.input = input
        count = input.count
    }

    /// The masked text, or nil when nothing was replaced.
    mutating func finish() -> [UInt8]? {
        guard changed else { return nil }
        output += input[copied...]
        return output
    }

    /// Replaces the match `input[range]` with its own first bytes up to `kept` followed by `tail`.
    mutating func replace(_ range: Range<Int>, keepingUpTo kept: Int, with tail: [UInt8]) {
        if !changed {
            changed = true
            output.reserveCapacity(input.count)
        }
        output += input[copied..<kept]
        output += tail
        copied = range.upperBound
    }

    /// Appends `input[range]` to the replacement just made (after `replace`, before anything else is replaced).
    mutating func appendInput(_ range: Range<Int>) {
        output += input[range]
    }
}

/// Scalars and character classes.
extension MaskingPass {
    /// The scalar starting at byte `i` (a scalar boundary) and its length in bytes.
    func scalar(at i: Int) -> (value: Unicode.Scalar, length: Int) {
        let lead = input[i]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        var value = UInt32(lead & (0x7F >> length))
        for k in 1..<length { value = value << 6 | UInt32(input[i + k] & 0x3F) }
        return (Unicode.Scalar(value) ?? "\u{FFFD}", length)
    }

    /// The start of the scalar that ends at byte `i` (`i > 0`).
    func scalarStart(before i: Int) -> Int {
        var start = i - 1
        while start > 0, input[start] & 0xC0 == 0x80 { start -= 1 }
        return start
    }

    /// The length in bytes of the whitespace scalar at `i`, 0 when the scalar there is not whitespace.
    func whitespaceLength(at i: Int) -> Int {
        let byte = input[i]
        if byte < 0x80 { return Self.isASCIIWhitespace(byte) ? 1 : 0 }
        let (value, length) = scalar(at: i)
        return value.properties.isWhitespace ? length : 0
    }

    /// The end of the whitespace run starting at `i` (`i` itself when there is none).
    func endOfWhitespace(from i: Int) -> Int {
        var j = i
        while j < count {
            let length = whitespaceLength(at: j)
            if length == 0 { break }
            j += length
        }
        return j
    }

    /// Whether the scalar before byte `i` is a word character; false at the start of the text. A word boundary
    /// before a word character at `i` is exactly `!isWordCharacter(before: i)`.
    func isWordCharacter(before i: Int) -> Bool {
        guard i > 0 else { return false }
        let byte = input[i - 1]
        if byte < 0x80 { return Self.isASCIILetter(byte) || byte == UInt8(ascii: "_") }
        return scalar(at: scalarStart(before: i)).value.properties.isAlphabetic
    }

    /// The length in bytes of the scalar at `i` when it is not a newline, 0 when it is one.
    func nonNewlineLength(at i: Int) -> Int {
        let (value, length) = scalar(at: i)
        switch value.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: return 0
        default: return length
        }
    }

    /// The end of `keyword` (lower-case ASCII) when the text at `i` spells it, ignoring case: each letter matches
    /// itself in either ASCII case, and `k` also matches the Kelvin sign (U+212A, whose lower-case mapping is `k`:
    /// the regular expressions' case-insensitive comparison of lower-case mappings matched it too). No other scalar
    /// lower-cases to an ASCII letter; case-folding look-alikes such as the long s (U+017F) are not folded.
    func endOfKeyword(_ keyword: String, at i: Int) -> Int? {
        var j = i
        for letter in keyword.utf8 {
            guard j < count else { return nil }
            let byte = input[j]
            if byte == letter || (Self.isASCIILetter(byte) && byte | 0x20 == letter) {
                j += 1
            } else if letter == UInt8(ascii: "k"), byte == 0xE2, j + 2 < count, input[j + 1] == 0x84,
                input[j + 2] == 0xAA
            {
                j += 3
            } else {
                return nil
            }
        }
        return j
    }

    static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        (0x09...0x0D).contains(byte) || byte == 0x20
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
    }

    static func isASCIIDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || isASCIIDigit(byte)
    }
}
