import BreakGlassCore
import Foundation
import Testing

/// `JSONValueDecoder` must answer as `JSONDecoder` does on the live sources' records: the same value, or the same
/// `DecodingError` case at the same coding path (what `LiveSourcesClient` puts in a `SOURCE_UNAVAILABLE` detail).
@Suite struct JSONValueDecoderTests {
    /// The outcome as the live-sources client reports it.
    static func outcome<T: Decodable & Equatable>(_ decode: () throws -> T) -> Outcome<T> {
        do {
            return .value(try decode())
        } catch let error as DecodingError {
            func path(_ codingPath: [any CodingKey]) -> String {
                codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            }
            switch error {
            case .keyNotFound(let key, let context): return .failure("missing \(path(context.codingPath + [key]))")
            case .typeMismatch(_, let context): return .failure("type mismatch \(path(context.codingPath))")
            case .valueNotFound(_, let context): return .failure("value not found \(path(context.codingPath))")
            case .dataCorrupted(let context): return .failure("invalid \(path(context.codingPath))")
            @unknown default: return .failure("unknown")
            }
        } catch {
            return .failure("other \(type(of: error))")
        }
    }

    enum Outcome<T: Equatable>: Equatable {
        case value(T)
        case failure(String)
    }

    /// Every mutation of `valid` at every path: removed, null, and a value of each JSON kind (numbers as raw text).
    static func corpus(_ valid: Data) -> [Data] {
        let object = try! JSONSerialization.jsonObject(with: valid)
        var paths: [[String]] = []
        func walk(_ value: Any, _ path: [String]) {
            if !path.isEmpty { paths.append(path) }
            if let object = value as? [String: Any] {
                for (key, member) in object { walk(member, path + [key]) }
            } else if let array = value as? [Any] {
                for (index, item) in array.enumerated() { walk(item, path + [String(index)]) }
            }
        }
        walk(object, [])
        let changes: [Any?] = [
            nil, NSNull(), "x", "paused", "", true, "#1", "#1.0", "#1.5", "#1e2", "#-0", "#-1", "#1E400", "#1e-400",
            "#99999999999999999999", "#2.5e1", [Any](), ["x"], [String: Any](), ["k": ["v"]],
        ]
        var texts: [Data] = [valid]
        for path in paths {
            for change in changes {
                let mutated = apply(object, path[...], change)
                var text = String(decoding: try! JSONSerialization.data(withJSONObject: mutated), as: UTF8.self)
                // Raw number text where the change is "#<digits>".
                while let range = text.range(of: ##""#[^"]*""##, options: .regularExpression) {
                    text.replaceSubrange(range, with: text[range].dropFirst(2).dropLast())
                }
                texts.append(Data(text.utf8))
            }
        }
        return texts
    }

    static func apply(_ value: Any, _ path: ArraySlice<String>, _ change: Any?) -> Any {
        guard let head = path.first else { return change ?? NSNull() }
        if var object = value as? [String: Any] {
            if path.count == 1, change == nil {
                object[head] = nil
            } else if let member = object[head] {
                object[head] = apply(member, path.dropFirst(), change)
            }
            return object
        }
        if var array = value as? [Any], let index = Int(head), array.indices.contains(index) {
            if path.count == 1, change == nil {
                array.remove(at: index)
            } else {
                array[index] = apply(array[index], path.dropFirst(), change)
            }
            return array
        }
        return value
    }

    /// How many mutated answers were compared, and how many of them the tree's decoder left to JSONDecoder.
    static func expectSameAnswers<T: Codable & Equatable>(_ type: T.Type, _ valid: T) throws -> (Int, Int) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var (compared, deferred) = (0, 0)
        for text in corpus(try encoder.encode(valid)) {
            guard let parsed = try? JSONParser.parse(text) else { continue }
            expectSame(type, parsed, text)
            compared += 1
            do { _ = try JSONValueDecoder().decode(type, from: parsed) } catch is JSONValueDecoder.Unsupported {
                deferred += 1
            } catch {}
        }
        return (compared, deferred)
    }

    static func expectSame<T: Decodable & Equatable>(
        _ type: T.Type, _ parsed: JSONValue, _ data: Data, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let ours = outcome { try decodeOrFallBack(type, parsed, data) }
        let theirs = outcome { try JSONDecoder().decode(type, from: data) }
        #expect(ours == theirs, "\(type): \(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    /// As the live-sources client decodes: from the tree, or with JSONDecoder where the tree's decoder defers.
    static func decodeOrFallBack<T: Decodable>(_ type: T.Type, _ parsed: JSONValue, _ data: Data) throws -> T {
        do {
            return try JSONValueDecoder().decode(type, from: parsed)
        } catch is JSONValueDecoder.Unsupported {
            return try JSONDecoder().decode(type, from: data)
        }
    }

    @Test func theLiveSourcesRecordsDecodeAsJSONDecoderDecodesThem() throws {
        var fixture = GateFixture()
        var counts = [
            try Self.expectSameAnswers(CaseRecord.self, fixture.caseRecord),
            try Self.expectSameAnswers(TenantRecord.self, fixture.tenant),
            try Self.expectSameAnswers(IncidentRecord.self, fixture.incident),
            try Self.expectSameAnswers(IdentityAssurance.self, fixture.identity),
            try Self.expectSameAnswers(IAMAdminState.self, fixture.iam),
        ]
        fixture.identity.verifiedAt = nil
        counts.append(try Self.expectSameAnswers(IdentityAssurance.self, fixture.identity))
        let compared = counts.map(\.0).reduce(0, +)
        let deferred = counts.map(\.1).reduce(0, +)
        // Every path of every record, twenty changes each: no corpus shrinking unnoticed. Only the integers written
        // with a fraction or an exponent go to JSONDecoder: the comparison is of the tree's decoder, not of
        // JSONDecoder with itself.
        #expect(compared > 1_000, "\(compared)")
        #expect(deferred * 10 < compared, "\(deferred) of \(compared) left to JSONDecoder")
    }

    @Test func numbersAndContainersAnswerAsJSONDecoderAnswers() throws {
        let texts = [
            "[1]", "[1.0]", "[1e2]", "[1.5]", "[-0]", "[1E400]", "[99999999999999999999]", "[-1]", "[null]", "[true]",
            "[\"1\"]", "[]", "[[1]]", "{}", "[1e-400]", "[0e5]", "[0E0]", "[9007199254740993.0]", "[2e-324]", "[1e309]",
            "[1.5e3]", "[12345678901234567.0]",
        ]
        for text in texts {
            let data = Data(text.utf8)
            let parsed = try JSONParser.parse(data)
            Self.expectSame([Int].self, parsed, data)
            Self.expectSame([UInt8].self, parsed, data)
            Self.expectSame([Float].self, parsed, data)
            Self.expectSame([Bool].self, parsed, data)
            Self.expectSame([Double].self, parsed, data)
            Self.expectSame([Int?].self, parsed, data)
            Self.expectSame([String: [Int]].self, parsed, data)
        }
    }
}
