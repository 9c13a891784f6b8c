import Foundation

/// Decodes a `Decodable` from a `JSONValue` already parsed by `JSONParser`, with the answers of Foundation's
/// `JSONDecoder` (default strategies): the same values, and the same `DecodingError` case at the same coding path
/// when it fails. The live sources' answers are parsed strictly once, then decoded from the tree (issue 21: parsing
/// them again in `JSONDecoder` was 3 % of the worker's CPU per halt). `JSONValueDecoderTests` holds the two decoders
/// to the same outcome on every record type of the contract and on mutated answers.
///
/// What only `JSONDecoder` decides throws `Unsupported`: the types it treats specially (`Data`, `URL`, `Decimal`),
/// floating-point numbers and integers written with a fraction or exponent. The caller then decodes with
/// `JSONDecoder`; that works as long as no `init(from:)` swallows the error (`try?`), which none of ours does.
public struct JSONValueDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder(value, path: []).decode(type)
    }

    /// A type whose decoding only `JSONDecoder` decides.
    public struct Unsupported: Error {}

    static func context(_ path: [any CodingKey], _ description: String) -> DecodingError.Context {
        DecodingError.Context(codingPath: path, debugDescription: description)
    }

    /// One value of the tree, at its coding path.
    struct ValueDecoder: Decoder, SingleValueDecodingContainer {
        let value: JSONValue
        let codingPath: [any CodingKey]

        init(_ value: JSONValue, path: [any CodingKey]) {
            self.value = value
            self.codingPath = path
        }

        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            switch value {
            case .object(let object):
                return KeyedDecodingContainer(KeyedContainer<Key>(object: object, path: codingPath))
            case .null:
                throw DecodingError.valueNotFound(
                    [String: Any].self,
                    context(codingPath, "Cannot get keyed decoding container -- found null value instead"))
            default: throw mismatch([String: Any].self)
            }
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            switch value {
            case .array(let items): return UnkeyedContainer(items: items, path: codingPath)
            case .null:
                throw DecodingError.valueNotFound(
                    [Any].self, context(codingPath, "Cannot get unkeyed decoding container -- found null value instead")
                )
            default: throw mismatch([Any].self)
            }
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, context(codingPath, "Expected to decode \(type) but found \(value.kindName) instead."))
        }

        func notFound(_ type: Any.Type) -> DecodingError {
            .valueNotFound(type, context(codingPath, "Cannot get value of type \(type) -- found null value instead"))
        }

        func decodeNil() -> Bool { value == .null }

        func decode(_ type: Bool.Type) throws -> Bool {
            // JSONDecoder answers `null` for a Bool with typeMismatch (valueNotFound for strings and numbers).
            guard case .bool(let flag) = value else { throw mismatch(type) }
            return flag
        }

        func decode(_ type: String.Type) throws -> String {
            switch value {
            case .string(let text): return text
            case .null: throw notFound(type)
            default: throw mismatch(type)
            }
        }

        func numberText(_ type: Any.Type) throws -> String {
            switch value {
            case .number(let text): return text
            case .null: throw notFound(type)
            default: throw mismatch(type)
            }
        }

        /// Floating-point numbers are left to JSONDecoder: its answers on underflow, overflow and some exponent
        /// forms (it refuses `0e5` and takes `0E0`) are its own. No live-source record has one.
        func decode(_ type: Double.Type) throws -> Double {
            _ = try numberText(type)
            throw Unsupported()
        }

        func decode(_ type: Float.Type) throws -> Float {
            _ = try numberText(type)
            throw Unsupported()
        }

        /// An integer written as digits; one that does not fit is reported at the top level, as JSONDecoder reports
        /// it. Integers written with a fraction or an exponent (`1.0`, `1e2`: JSONDecoder takes them, exactly, through
        /// `Decimal`) are left to JSONDecoder.
        func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            let text = try numberText(type)
            if let integer = T(text) { return integer }
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) { throw Unsupported() }
            throw DecodingError.dataCorrupted(
                context([], "Parsed JSON number <\(text)> does not fit in \(type)."))
        }

        func decode(_ type: Int.Type) throws -> Int { try integer(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            if type == String.self { return try decode(String.self) as! T }
            if type == Int.self { return try decode(Int.self) as! T }
            if type == Bool.self { return try decode(Bool.self) as! T }
            if type == Double.self { return try decode(Double.self) as! T }
            if type == Data.self || type == URL.self || type == Decimal.self { throw Unsupported() }
            return try T(from: self)
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: JSONObject
        let codingPath: [any CodingKey]

        init(object: JSONObject, path: [any CodingKey]) {
            self.object = object
            self.codingPath = path
        }

        var allKeys: [Key] { object.members.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        func member(_ key: Key) throws -> ValueDecoder {
            guard let value = object[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key, context(codingPath, "No value associated with key \(key) (\"\(key.stringValue)\")."))
            }
            return ValueDecoder(value, path: codingPath + [key])
        }

        func decodeNil(forKey key: Key) throws -> Bool { try member(key).decodeNil() }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).decode(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).decode(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).decode(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).decode(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).decode(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).decode(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).decode(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).decode(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).decode(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).decode(type) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).decode(type) }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type, forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            try member(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try member(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            ValueDecoder(object["super"] ?? .null, path: codingPath + [JSONCodingKey(stringValue: "super")])
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            ValueDecoder(object[key.stringValue] ?? .null, path: codingPath + [key])
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        private(set) var currentIndex = 0

        init(items: [JSONValue], path: [any CodingKey]) {
            self.items = items
            self.codingPath = path
        }

        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        func current(_ type: Any.Type) throws -> ValueDecoder {
            let path = codingPath + [JSONCodingKey(index: currentIndex)]
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, context(path, "Unkeyed container is at end."))
            }
            return ValueDecoder(items[currentIndex], path: path)
        }

        mutating func decodeNil() throws -> Bool {
            guard try current(Any?.self).decodeNil() else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let value = try current(type).decode(type)
            currentIndex += 1
            return value
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type
        ) throws -> KeyedDecodingContainer<NestedKey> {
            let container = try current(KeyedDecodingContainer<NestedKey>.self).container(keyedBy: type)
            currentIndex += 1
            return container
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let container = try current((any UnkeyedDecodingContainer).self).unkeyedContainer()
            currentIndex += 1
            return container
        }

        mutating func superDecoder() throws -> any Decoder {
            let decoder = try current((any Decoder).self)
            currentIndex += 1
            return decoder
        }
    }
}
