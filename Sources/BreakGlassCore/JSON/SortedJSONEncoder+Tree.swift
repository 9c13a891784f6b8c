import Foundation

extension SortedJSONEncoder {
    /// One encoded value. Containers are boxes the `Encoder` fills in place; `deferred` is a `superEncoder()`'s
    /// value, read when the tree is written.
    enum Node {
        case null
        case bool(Bool)
        case number(String)
        case string(String)
        case array(ArrayBox)
        case object(ObjectBox)
        case deferred(TreeEncoder)

        /// A `superEncoder()`'s value as it stands now; any other node as it is.
        var settled: Node {
            if case .deferred(let encoder) = self { return encoder.storage ?? self }
            return self
        }

        /// The node of a value that is a JSON leaf; nil for values that encode themselves into containers.
        /// Throws `Unsupported` for the types Foundation's encoder treats specially.
        static func leaf<Value: Encodable>(_ value: Value) throws -> Node? {
            // Compared by type first: a failing dynamic cast per candidate type cost more than the whole write.
            let type = Value.self
            if type == String.self { return .string(value as! String) }
            if type == Int.self { return .number(String(value as! Int)) }
            if type == Bool.self { return .bool(value as! Bool) }
            if type == Double.self { return try number(value as! Double) }
            if type == Int64.self { return .number(String(value as! Int64)) }
            if type == Int32.self { return .number(String(value as! Int32)) }
            if type == UInt.self { return .number(String(value as! UInt)) }
            if type == UInt64.self { return .number(String(value as! UInt64)) }
            if type == UInt32.self { return .number(String(value as! UInt32)) }
            if type == Int16.self { return .number(String(value as! Int16)) }
            if type == UInt16.self { return .number(String(value as! UInt16)) }
            if type == Int8.self { return .number(String(value as! Int8)) }
            if type == UInt8.self { return .number(String(value as! UInt8)) }
            if type == Float.self { return try number(value as! Float) }
            if type == Data.self || type == URL.self || type == Decimal.self { throw Unsupported() }
            return nil
        }

        /// Foundation's form: the number's `description`, without a trailing `.0`.
        static func number(_ value: some BinaryFloatingPoint & LosslessStringConvertible) throws -> Node {
            guard value.isFinite else { throw Unsupported() }
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            return .number(text)
        }
    }

    final class ArrayBox {
        var items: [Node] = []
    }

    final class ObjectBox {
        /// In the order written; `Writer` sorts them and keeps the last write of a key, as Foundation's encoder does.
        var members: [(key: String, node: Node)] = []

        func set(_ key: String, _ node: Node) { members.append((key, node)) }

        /// The node last written at `key`.
        func node(at key: String) -> Node? { members.last { $0.key == key }?.node }
    }

    /// Where a value sits, for `codingPath` (built only when asked for). A `TreeEncoder` is the path of the values
    /// it holds; a nested container gets one of its own.
    class Path {
        let parent: Path?
        let key: (any CodingKey)?

        init(parent: Path?, key: (any CodingKey)?) {
            self.parent = parent
            self.key = key
        }

        func appending(_ key: any CodingKey) -> Path { Path(parent: self, key: key) }

        var keys: [any CodingKey] {
            var keys: [any CodingKey] = []
            var current: Path? = self
            while let path = current {
                if let key = path.key { keys.append(key) }
                current = path.parent
            }
            return keys.reversed()
        }
    }

    /// The value at one place of the tree: a leaf, or the container its type asked for.
    static func node(_ value: some Encodable, parent: Path?, key: (any CodingKey)?) throws -> Node {
        if let leaf = try Node.leaf(value) { return leaf }
        let encoder = TreeEncoder(parent: parent, key: key)
        try value.encode(to: encoder)
        return encoder.result
    }

    final class TreeEncoder: Path, Encoder, SingleValueEncodingContainer {
        var storage: Node?

        /// A value that encoded nothing is an empty object, as in Foundation's encoder.
        var result: Node { storage ?? .object(ObjectBox()) }

        var codingPath: [any CodingKey] { keys }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            let box: ObjectBox
            if case .object(let existing)? = storage {
                box = existing
            } else {
                box = ObjectBox()
                storage = .object(box)
            }
            return KeyedEncodingContainer(KeyedContainer<Key>(box: box, path: self))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            let box: ArrayBox
            if case .array(let existing)? = storage {
                box = existing
            } else {
                box = ArrayBox()
                storage = .array(box)
            }
            return UnkeyedContainer(box: box, path: self)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { self }

        func encodeNil() throws { storage = .null }
        func encode(_ value: Bool) throws { storage = .bool(value) }
        func encode(_ value: String) throws { storage = .string(value) }
        func encode(_ value: Double) throws { storage = try Node.number(value) }
        func encode(_ value: Float) throws { storage = try Node.number(value) }
        func encode(_ value: Int) throws { storage = .number(String(value)) }
        func encode(_ value: Int8) throws { storage = .number(String(value)) }
        func encode(_ value: Int16) throws { storage = .number(String(value)) }
        func encode(_ value: Int32) throws { storage = .number(String(value)) }
        func encode(_ value: Int64) throws { storage = .number(String(value)) }
        func encode(_ value: UInt) throws { storage = .number(String(value)) }
        func encode(_ value: UInt8) throws { storage = .number(String(value)) }
        func encode(_ value: UInt16) throws { storage = .number(String(value)) }
        func encode(_ value: UInt32) throws { storage = .number(String(value)) }
        func encode(_ value: UInt64) throws { storage = .number(String(value)) }
        func encode(_ value: some Encodable) throws {
            storage = try SortedJSONEncoder.node(value, parent: parent, key: key)
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: ObjectBox
        let path: Path

        var codingPath: [any CodingKey] { path.keys }

        mutating func encodeNil(forKey key: Key) throws { box.set(key.stringValue, .null) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { box.set(key.stringValue, .bool(value)) }
        mutating func encode(_ value: String, forKey key: Key) throws {
            box.set(key.stringValue, .string(value))
        }
        mutating func encode(_ value: Double, forKey key: Key) throws {
            box.set(key.stringValue, try Node.number(value))
        }
        mutating func encode(_ value: Float, forKey key: Key) throws {
            box.set(key.stringValue, try Node.number(value))
        }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(String(value), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(String(value), key) }

        mutating func encode(_ value: some Encodable, forKey key: Key) throws {
            box.set(key.stringValue, try SortedJSONEncoder.node(value, parent: path, key: key))
        }

        private func set(_ number: String, _ key: Key) { box.set(key.stringValue, .number(number)) }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            // An object already at the key is reused, as in Foundation's encoder.
            let nested: ObjectBox
            switch box.node(at: key.stringValue)?.settled {
            case .object(let existing)?: nested = existing
            default:
                nested = ObjectBox()
                box.set(key.stringValue, .object(nested))
            }
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, path: path.appending(key)))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested: ArrayBox
            switch box.node(at: key.stringValue)?.settled {
            case .array(let existing)?: nested = existing
            default:
                nested = ArrayBox()
                box.set(key.stringValue, .array(nested))
            }
            return UnkeyedContainer(box: nested, path: path.appending(key))
        }

        mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }

        mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

        private func superEncoder(named name: String) -> any Encoder {
            let encoder = TreeEncoder(parent: path, key: JSONCodingKey(stringValue: name))
            box.set(name, .deferred(encoder))
            return encoder
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let box: ArrayBox
        let path: Path

        var codingPath: [any CodingKey] { path.keys }
        var count: Int { box.items.count }

        mutating func encodeNil() throws { box.items.append(.null) }
        mutating func encode(_ value: Bool) throws { box.items.append(.bool(value)) }
        mutating func encode(_ value: String) throws { box.items.append(.string(value)) }
        mutating func encode(_ value: Double) throws { box.items.append(try Node.number(value)) }
        mutating func encode(_ value: Float) throws { box.items.append(try Node.number(value)) }
        mutating func encode(_ value: Int) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: Int8) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: Int16) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: Int32) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: Int64) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: UInt) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: UInt8) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: UInt16) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: UInt32) throws { box.items.append(.number(String(value))) }
        mutating func encode(_ value: UInt64) throws { box.items.append(.number(String(value))) }

        mutating func encode(_ value: some Encodable) throws {
            let index = box.items.count
            box.items.append(try SortedJSONEncoder.node(value, parent: path, key: JSONCodingKey(index: index)))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type
        ) -> KeyedEncodingContainer<NestedKey> {
            let nested = ObjectBox()
            let index = box.items.count
            box.items.append(.object(nested))
            return KeyedEncodingContainer(
                KeyedContainer<NestedKey>(box: nested, path: path.appending(JSONCodingKey(index: index))))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            let index = box.items.count
            box.items.append(.array(nested))
            return UnkeyedContainer(box: nested, path: path.appending(JSONCodingKey(index: index)))
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = TreeEncoder(parent: path, key: JSONCodingKey(index: box.items.count))
            box.items.append(.deferred(encoder))
            return encoder
        }
    }
}
