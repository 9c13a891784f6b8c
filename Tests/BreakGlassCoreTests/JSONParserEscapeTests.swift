import BreakGlassCore
import Testing

/// `\u` escapes and surrogate pairs. The fuzzer's planted-bug check (docs/RELIABILITY.md) removed the low-surrogate
/// guard and found `\ud83d\ud0e0` trapping within 10 s; these pin the guard and its neighbours.
@Suite("JSON \\u escapes")
struct JSONParserEscapeTests {
    @Test func surrogatePairDecodesToOneScalar() throws {
        #expect(try JSONParser.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("\u{1F600}"))
        #expect(try JSONParser.parse(Array(#""\u00e9\u0041""#.utf8)) == .string("\u{E9}A"))
    }

    @Test(
        "refused with a reason, never a trap",
        arguments: [
            #""\ud83d\ud0e0""#,  // high surrogate, then an escape below the low range (the planted bug's input)
            #""\ud800\u0041""#,  // high surrogate, then a plain escape
            #""\udbff\uffff""#,  // high surrogate, then an escape above the low range
            #""\udc00""#,  // lone low surrogate
            #""\ud800""#,  // lone high surrogate at the end of the string
            #""\ud800x""#,  // high surrogate, then a plain character
            #""\ud800\u12""#,  // truncated second escape
            #""\u12g4""#,  // not hex
            #""\u""#,  // nothing after \u
        ])
    func refused(text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
    }
}
