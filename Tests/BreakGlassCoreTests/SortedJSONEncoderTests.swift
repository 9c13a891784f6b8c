import BreakGlassCore
import Foundation
import Testing

/// `SortedJSONEncoder` must write exactly the bytes Foundation's `JSONEncoder` writes with the same options: evidence
/// bundles, ledger records and events keep their bytes whichever encoder made them.
@Suite struct SortedJSONEncoderTests {
    static let allOptions: [SortedJSONEncoder.Options] = [.pretty, .compact, .ledger]

    static func foundation(_ value: some Encodable, _ options: SortedJSONEncoder.Options) throws -> Data {
        let encoder = JSONEncoder()
        var formatting: JSONEncoder.OutputFormatting = [.sortedKeys]
        if options.prettyPrinted { formatting.insert(.prettyPrinted) }
        if !options.escapingSlashes { formatting.insert(.withoutEscapingSlashes) }
        encoder.outputFormatting = formatting
        return try encoder.encode(value)
    }

    static func expectSame(
        _ value: some Encodable, _ label: String, sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        for options in allOptions {
            let ours = try SortedJSONEncoder(options).encode(value)
            let theirs = try foundation(value, options)
            #expect(
                ours == theirs,
                "\(label) \(options): ours\n\(String(decoding: ours, as: UTF8.self))\nFoundation's\n\(String(decoding: theirs, as: UTF8.self))",
                sourceLocation: sourceLocation)
        }
    }

    @Test func theDocumentsOfABundleEncodeAsFoundationEncodesThem() throws {
        var fixture = GateFixture()
        try Self.expectSame(fixture.request, "request")
        try Self.expectSame(fixture.snapshot, "sources")
        try Self.expectSame(fixture.evaluate(), "gate result")
        try Self.expectSame(fixture.preSubmitSnapshot, "pre-submit sources")
        fixture.caseAnswer = .unavailable(detail: "timeout: no complete answer within 2 seconds / \"quoted\"")
        fixture.tenantAnswer = .notFound
        try Self.expectSame(fixture.snapshot, "sources with failures")
        try Self.expectSame(fixture.evaluate(), "halting gate result")
        let record = TakeoverRecord(
            reasons: [.approvalRevoked, .sourceUnavailable], stage: .gate, escalate: true, screen: "review",
            url: "https://console.example/a/b?c=d", enteredValues: ["duration": "120", "reason/why": "é\u{1}\n"],
            approvalRefs: ["APR-1", "APR-2"], note: "tab\there")
        try Self.expectSame(record, "takeover")
        try Self.expectSame(TakeoverRecord(reasons: [], stage: .gate, escalate: false), "empty takeover")
        let event = CloudEvent(
            id: "evt-1", source: "breakglass/worker-1", type: .outcome, subject: "CASE-1/tnt-1",
            time: GateFixture.now, data: ["outcome": "halted", "path": "a/b"])
        try Self.expectSame(event, "event")
        try Self.expectSame(["recheck_to_click_ms": "35", "started": "2026-11-25T18:30:00.123Z"], "timing")
    }

    @Test func edgeValuesEncodeAsFoundationEncodesThem() throws {
        try Self.expectSame([Int](), "empty array")
        try Self.expectSame([String: [Int]](), "empty object")
        try Self.expectSame([[String: String]()], "array of an empty object")
        try Self.expectSame(["x": [[Int]()]], "nested empties")
        try Self.expectSame("top level / string", "top-level string")
        try Self.expectSame(42, "top-level number")
        try Self.expectSame([1: "a", 10: "b", 2: "c"], "integer keys")
        try Self.expectSame(["B": 1, "Z": 2, "a": 3, "aa": 4, "é": 5, "": 7], "key order")
        try Self.expectSame(
            [
                1.0, 0.1, 1e20, 1e21, 1e-7, 123_456_789.123, -0.0, 1e16, 0.000001, .leastNonzeroMagnitude,
                .greatestFiniteMagnitude,
            ],
            "doubles")
        try Self.expectSame([Float(0.1), 1, 3.4e38, -2.5], "floats")
        try Self.expectSame([Int8.min, 0, Int8.max], "int8")
        try Self.expectSame([UInt64.max], "uint64")
        try Self.expectSame([Int64.min], "int64")
        try Self.expectSame(
            ["\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1b}\u{1f}\u{20}\u{7f}\"\\/\u{2028}\u{feff}😀"], "escapes")
        try Self.expectSame([Optional<Int>.none, 1], "nulls")
        try Self.expectSame(Date(timeIntervalSinceReferenceDate: 12.5), "date")
        try Self.expectSame(["x": Nothing()], "a value that encodes nothing")
        try Self.expectSame([Nothing()], "a value that encodes nothing, in an array")
        for options in Self.allOptions {
            #expect(throws: EncodingError.self) { try SortedJSONEncoder(options).encode(Nothing()) }
        }
        try Self.expectSame(Inheriting(), "super encoders")
    }

    @Test func specialTypesAreLeftToFoundation() throws {
        try Self.expectSame(["data": Data([1, 2, 3, 250])], "data")
        try Self.expectSame([URL(string: "https://example.com/a?b=c")!], "url")
        try Self.expectSame([Decimal(string: "12.50")!], "decimal")
        for options in Self.allOptions {
            #expect(throws: EncodingError.self) { try SortedJSONEncoder(options).encode([Double.nan]) }
            #expect(throws: EncodingError.self) { try SortedJSONEncoder(options).encode(["x": Double.infinity]) }
        }
    }

    /// Generated trees of objects, arrays and leaves (keys and strings drawn from awkward characters).
    @Test func generatedValuesEncodeAsFoundationEncodesThem() throws {
        var random = SplitMix64(seed: 0x5EED_2112)
        for round in 0..<2_000 {
            let value = Generated.make(depth: 0, &random)
            for options in Self.allOptions {
                let ours = try SortedJSONEncoder(options).encode(value)
                let theirs = try Self.foundation(value, options)
                guard ours == theirs else {
                    Issue.record(
                        "round \(round) \(options): ours\n\(String(decoding: ours, as: UTF8.self))\nFoundation's\n\(String(decoding: theirs, as: UTF8.self))"
                    )
                    return
                }
            }
        }
    }

    struct Nothing: Encodable {
        func encode(to encoder: any Encoder) throws {}
    }

    struct Inheriting: Encodable {
        enum Keys: String, CodingKey { case own, twice, é }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("x", forKey: .own)
            try container.encode(1, forKey: .twice)
            try container.encode("second", forKey: .twice)
            try container.encode(1, forKey: .é)
            try container.encode(2, forKey: .é)
            try ["parent": 1].encode(to: container.superEncoder())
            try [2, 3].encode(to: container.superEncoder(forKey: .own))
            var list = container.nestedUnkeyedContainer(forKey: .own)
            try "replaced".encode(to: list.superEncoder())
        }
    }

    /// A JSON-shaped value that encodes itself through every kind of container.
    indirect enum Generated: Encodable {
        case object([String: Generated])
        case array([Generated])
        case string(String)
        case int(Int)
        case double(Double)
        case bool(Bool)
        case null

        static let characters: [String] = [
            "a", "Z", "0", " ", "/", "\\", "\"", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}", "\u{1f}", "\u{7f}", "é",
            "e\u{301}", "ß", "\u{2028}", "😀", "中", "_", "-", ".", ":",
        ]

        static func text(_ random: inout SplitMix64) -> String {
            String(
                (0..<Int.random(in: 0...8, using: &random)).map { _ in
                    Character(characters.randomElement(using: &random)!)
                })
        }

        static func make(depth: Int, _ random: inout SplitMix64) -> Generated {
            let kind = depth > 3 ? Int.random(in: 2...6, using: &random) : Int.random(in: 0...6, using: &random)
            switch kind {
            case 0:
                var members: [String: Generated] = [:]
                for _ in 0..<Int.random(in: 0...5, using: &random) {
                    members[text(&random)] = make(depth: depth + 1, &random)
                }
                return .object(members)
            case 1:
                return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in make(depth: depth + 1, &random) })
            case 2: return .string(text(&random))
            case 3: return .int(Int(truncatingIfNeeded: random.next()) >> Int.random(in: 0...63, using: &random))
            case 4:
                let bits = Double(bitPattern: random.next())
                return .double(bits.isFinite ? bits : Double(Int.random(in: -1000...1000, using: &random)) / 8)
            case 5: return .bool(Bool.random(using: &random))
            default: return .null
            }
        }

        struct Key: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .object(let members):
                var container = encoder.container(keyedBy: Key.self)
                for (key, value) in members {
                    switch value {
                    case .string(let text): try container.encode(text, forKey: Key(stringValue: key))
                    case .int(let number): try container.encode(number, forKey: Key(stringValue: key))
                    case .null: try container.encodeNil(forKey: Key(stringValue: key))
                    default: try container.encode(value, forKey: Key(stringValue: key))
                    }
                }
            case .array(let items):
                var container = encoder.unkeyedContainer()
                for item in items {
                    switch item {
                    case .double(let number): try container.encode(number)
                    case .bool(let flag): try container.encode(flag)
                    default: try container.encode(item)
                    }
                }
            case .string(let text):
                var container = encoder.singleValueContainer()
                try container.encode(text)
            case .int(let number):
                var container = encoder.singleValueContainer()
                try container.encode(number)
            case .double(let number):
                var container = encoder.singleValueContainer()
                try container.encode(number)
            case .bool(let flag):
                var container = encoder.singleValueContainer()
                try container.encode(flag)
            case .null:
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            }
        }
    }
}
