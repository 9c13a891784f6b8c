import BreakGlassCore
import Foundation
import Testing

/// The byte scanners of `Masker` against the `Regex` implementation they replaced (`ReferenceMasker`): the same
/// output for every generated text.
///
/// Texts are built by a seeded generator from fragments aimed at every rule and its edges (key names, separators,
/// whitespace of every kind, JSON members, e-mail shapes, token runs around the length thresholds, runs around the
/// 63/64-character key bounds, non-ASCII letters and marks, literal secrets, `***`). 20,000 cases by default; set
/// `BREAKGLASS_MASKER_DIFF_CASES` for more (and `BREAKGLASS_MASKER_DIFF_SEED` for another seed).
@Suite("Masker differential")
struct MaskerDifferentialTests {
    static let literals = [
        "sample-console-password", "canary-bearer-token-Z9", "hunter2", "xoxo", "café", "Key\r", "\nkey",
    ]

    /// The maskers compared: default settings, and settings that move every threshold.
    static func maskers() -> [Masker] {
        var custom = Masker.Configuration(keepTokenSuffix: 6, minimumTokenLength: 18, minimumLiteralLength: 4)
        custom.secretKeys.formUnion(["user", "pin", "schlüssel"])
        let short = Masker.Configuration(keepTokenSuffix: 0, minimumTokenLength: 30, secretKeys: ["id"])
        return [
            Masker(literals: literals), Masker(literals: literals, configuration: custom),
            Masker(literals: ["hunter2"], configuration: short), Masker(),
        ]
    }

    /// The generated cases are cut into this many chunks, run in parallel.
    static let chunks = 4

    @Test("the scanners mask every generated text exactly as the regular expressions did", arguments: 0..<chunks)
    func generatedTexts(chunk: Int) {
        let environment = ProcessInfo.processInfo.environment
        let cases = environment["BREAKGLASS_MASKER_DIFF_CASES"].flatMap { Int($0) } ?? 20_000
        let seed = environment["BREAKGLASS_MASKER_DIFF_SEED"].flatMap { UInt64($0) } ?? 0x6D61_736B_6572
        let indices = (cases * chunk / Self.chunks)..<(cases * (chunk + 1) / Self.chunks)
        let maskers = Self.maskers()
        let references = maskers.map(ReferenceMasker.init)
        var failures = 0
        for index in indices {
            var random = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            let text = MaskerTextGenerator.text(&random)
            let which = index % maskers.count
            let expected = references[which].mask(text)
            let actual = maskers[which].mask(text)
            if actual != expected {
                failures += 1
                if failures <= 10 {
                    Issue.record(
                        """
                        seed \(seed) case \(index) masker \(which)
                          input    \(MaskerTextGenerator.escaped(text))
                          expected \(MaskerTextGenerator.escaped(expected))
                          actual   \(MaskerTextGenerator.escaped(actual))
                        """)
                }
            }
        }
        #expect(failures == 0, "\(failures) of the \(indices.count) generated texts \(indices) masked differently")
    }

    @Test("the hand-picked edges mask exactly as the regular expressions did")
    func edges() {
        let texts = [
            "Cookie: \n ", "cookie:\n", "cookie: \r\n", "Set-Cookie:\n  a=1\r\nnext", "cookie :\u{2028}x",
            "Authorization:\u{85}", "proxy-authorization: Bearer x", "x-set-cookie: v", "coo\u{212A}ie: v",
            "\u{017F}et-cookie: v", "1bearer abc", "_bearer abc", "\u{E9}bearer abc", "a\u{301}password=x",
            "bearer ***", "bearer\u{A0}tok", "basic\n\ndXNl", "\"password\": \"a\\\nb\"",
            "\"password\": \"a\\\u{2028}\"",
            "\"password\": \"a\\\u{E9}\"", "\"" + String(repeating: "k", count: 64) + "password\": \"v\"",
            "\"" + String(repeating: "k", count: 56) + "password\": \"v\"",
            String(repeating: "a", count: 55) + "password=x",
            String(repeating: "a", count: 56) + "password=x", "user=password=x", "password: \t value",
            "password:\u{A0}v",
            "password=v\u{A0}w", "password=\u{1F600}", "a@b.example.c0m", "a@b.c0m.example", "x@y.z", "a@b@c.com",
            "first.last+tag@sub.example.co.uk.", "\u{0600}cookie: x", "café x cafe\u{301}", "xoxoxo", "x\r\nkey\r\n",
        ]
        for (masker, reference) in zip(Self.maskers(), Self.maskers().map(ReferenceMasker.init)) {
            for text in texts {
                #expect(masker.mask(text) == reference.mask(text), "\(MaskerTextGenerator.escaped(text))")
            }
        }
    }

    @Test("secret field names are recognised as before, ASCII or not")
    func fieldNames() {
        let names = [
            "password", "Pass_Word", "X-Api-Key", "user", "USER", "p\u{E4}ssword", "PASSWORD\u{301}", "to\u{212A}en",
            "\u{130}d", "\u{17F}ecret", "schl\u{FC}ssel", "SCHL\u{DC}SSEL", "tenant_id", "", "_-", "authorization\r\n",
            "csrf\u{200D}", "id",
        ]
        for (masker, reference) in zip(Self.maskers(), Self.maskers().map(ReferenceMasker.init)) {
            let values = Dictionary(uniqueKeysWithValues: names.map { ($0, "v-\($0)") })
            let expected = Dictionary(
                uniqueKeysWithValues: names.map { name in
                    (name, reference.isSecretKey(Substring(name)) ? Masker.replacement : reference.mask("v-\(name)"))
                })
            #expect(masker.maskFields(values) == expected)
        }
    }
}

/// SplitMix64: a small, fast, seeded generator, so a failing case can be rebuilt from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The texts of the differential test.
enum MaskerTextGenerator {
    static let keys = [
        "password", "Pass_Word", "PASSWORD", "passwd", "pwd", "x-api-key", "X-Api-Key", "api_key", "token",
        "access_token", "session", "sessionid", "csrf", "csrf_token", "xsrf", "cookie", "Cookie", "set-cookie",
        "Set-Cookie", "SET-COOKIE", "proxy-authorization", "Proxy-Authorization", "authorization", "Authorization",
        "bearer", "Bearer", "BEARER", "basic", "Basic", "user", "id", "tenant_id", "case_id", "x.password", "secret",
        "privateKey", "credential", "auth", "bgsim_session", "a", "x", "pass", "word", "coo\u{212A}ie",
        "\u{17F}et-cookie", "pin", "schl\u{FC}ssel", "1password", "_password", "T18",
    ]
    static let separators = [
        "=", ":", ": ", ":\t", ":  ", " : ", " :", "\"", "\\\"", "\\", "&", ";", ",", "<", ">", "'", ".", "-", "_",
        "@", "?", "/", "#", " ", "*", "=", "=",
    ]
    static let whitespace = [
        " ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{A0}", "\u{2028}", "\u{2029}", "\u{85}", "\u{3000}",
        "\u{1680}", "\u{200B}", "\u{FEFF}", "  ",
    ]
    static let json = [
        "{\"password\": \"x\"}", "\"password\":\"hunter22\"", "\"api_key\" : \"k-1\"", "\"token\": \"\"",
        "\"token\": \"***\"", "\"secret\": \"a\\\"b\"", "\"secret\": \"a\\\\\"", "\"user\": \"bob\"", "{", "}", "[",
        "]",
        "\"", "\"x\": \"", "\"cookie\": \"abc\\n\"", "\"ab\":\"\\u00e9\"", "\"password\": \"ab\\\ncd\"",
        "\"password\":\n\"v\"", "\"Pass_Word\"\t:\t\"v\u{E9}\"", "\"x.password\": \"v\", ", "\"id\": \"***x\"",
        "\"session\": \"a\nb\"", "\"token\": \"\\\u{2028}\"", "\"k\": \"v\"",
    ]
    static let emails = [
        "a.b@c.example", "a@b", "x@y.z", "jane.doe@acme.example.", "x@y.org", "u@sub.domain.co", "u@d.c0m",
        "u@d.example.c0m", "u@-x.example", "first+tag@ex-ample.com", "@", "@@", "a@b.cc.dd@e.ff", "user@host..com",
        "a@b.c1d.ef", "%@x.yz", "a@b.c-d.efg1h", "q@w.e.r.t.yy",
    ]
    static let words = [
        "hello", "the", "value", "abc123", "zz99", "s3cr3t", "dXNlcjpwYXNz", "1", "2026", "0", "42", "***", "**",
        "sample-console-password", "canary-bearer-token-Z9", "hunter2", "xoxo", "xoxoxo", "oxo", "café", "cafe\u{301}",
        "sample", "Key",
        "key", "\u{E9}", "e\u{301}", "\u{FC}", "\u{4E2D}", "\u{41F}\u{440}\u{438}\u{432}\u{435}\u{442}",
        "\u{43F}\u{430}\u{440}\u{43E}\u{43B}\u{44C}", "\u{600}", "\u{1C5}", "\u{212A}", "\u{17F}", "\u{130}", "\u{DF}",
        "\u{1F600}", "\u{301}", "\u{200D}", "\u{FFFD}", "http://h.example/p?token=abc&x=1", "Bearer abc.def-123",
        "Basic dXNlcjpwYXNz", "GET /x?csrf_token=zz99&page=2",
    ]

    static let hex = Array("0123456789abcdef")
    static let upperHex = Array("0123456789ABCDEF")
    static let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
    static let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    static let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    static let alphanumerics = Array("abcdefghijklmnopqrstuvwxyz0123456789_-")

    static func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T {
        values[Int(random.next() % UInt64(values.count))]
    }

    static func run(of alphabet: [Character], length: Int, _ random: inout SplitMix64) -> String {
        String((0..<length).map { _ in pick(alphabet, &random) })
    }

    /// A run of token characters around the token thresholds, sometimes split by `-`/`_`.
    static func token(_ random: inout SplitMix64) -> String {
        let alphabet = pick([hex, upperHex, base64, base64URL, letters, Array("0123456789")], &random)
        var token = run(of: alphabet, length: Int.random(in: 18...70, using: &random), &random)
        if random.next() % 3 == 0, token.count > 2 {
            let cut = token.index(token.startIndex, offsetBy: Int.random(in: 1..<token.count, using: &random))
            token.insert(pick(["-", "_"], &random), at: cut)
        }
        return token
    }

    /// One piece of text.
    static func fragment(_ random: inout SplitMix64) -> String {
        switch random.next() % 16 {
        case 0, 1: return pick(keys, &random)
        case 2, 3: return pick(separators, &random)
        case 4: return pick(whitespace, &random)
        case 5: return pick(json, &random)
        case 6: return pick(emails, &random)
        case 7, 8: return pick(words, &random)
        case 9: return token(&random)
        case 10:
            // Around the 64-character bounds of keys, secret or not.
            let name = pick(["password", "Token", "x", ""], &random)
            let length = Int.random(in: 58...68, using: &random) - name.count
            let key = run(of: pick([letters, alphanumerics], &random), length: length, &random) + name
            return random.next() % 2 == 0 ? "\"\(key)\": \"v\"" : "\(key)\(pick(["=", ": "], &random))v"
        case 11:
            let value = pick(["hunter22", "***", "", "a b", "\u{E9}t\u{E9}", "x;y", "\"q\""], &random)
            return pick(keys, &random) + pick(separators, &random) + value
        case 12:
            return
                "\"\(pick(keys, &random))\"\(pick([":", ": ", " : ", ":\n", "\t:"], &random))\"\(pick(words, &random))\""
        case 13:
            let local = run(of: Array("ab.1_%+-"), length: Int.random(in: 1...5, using: &random), &random)
            let labels = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                run(of: Array("abc1-"), length: Int.random(in: 1...4, using: &random), &random)
            }
            return local + "@" + labels.joined(separator: ".")
        case 14:
            let space = random.next() % 2 == 0 ? "" : pick(whitespace, &random)
            return pick(keys, &random) + space + pick(["=", ":", ": "], &random) + pick(whitespace, &random)
                + pick(words, &random)
        default: return pick(words, &random) + pick(whitespace, &random)
        }
    }

    static func text(_ random: inout SplitMix64) -> String {
        (0..<Int.random(in: 1...10, using: &random)).map { _ in fragment(&random) }.joined()
    }

    /// `text` with everything but printable ASCII escaped, to show a failing case exactly.
    static func escaped(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case " "..."~": result.unicodeScalars.append(scalar)
            default: result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return result + "\""
    }
}
