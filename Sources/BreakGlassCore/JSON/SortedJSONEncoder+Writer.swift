extension SortedJSONEncoder {
    /// Writes a tree as Foundation's `JSONWriter` does: keys sorted by their UTF-8 bytes, two spaces per level and
    /// `"key" : value` when pretty, `\u00xx` (lower-case hex) for control characters without a short escape, every
    /// other character as its UTF-8 bytes.
    struct Writer {
        let options: Options
        var bytes: [UInt8] = []

        init(options: Options) {
            self.options = options
            bytes.reserveCapacity(1024)
        }

        mutating func write(_ node: Node, depth: Int) {
            switch node {
            case .null: bytes += "null".utf8
            case .bool(let value): bytes += (value ? "true" : "false").utf8
            case .number(let text): bytes += text.utf8
            case .string(let text): write(string: text)
            case .deferred(let encoder): write(encoder.result, depth: depth)
            case .array(let box):
                bytes.append(UInt8(ascii: "["))
                open()
                for (index, item) in box.items.enumerated() {
                    separate(first: index == 0, depth: depth + 1)
                    write(item, depth: depth + 1)
                }
                close(depth)
                bytes.append(UInt8(ascii: "]"))
            case .object(let box):
                bytes.append(UInt8(ascii: "{"))
                open()
                for (index, member) in Self.sorted(box.members).enumerated() {
                    separate(first: index == 0, depth: depth + 1)
                    write(string: member.key)
                    if options.prettyPrinted {
                        bytes += " : ".utf8
                    } else {
                        bytes.append(UInt8(ascii: ":"))
                    }
                    write(member.node, depth: depth + 1)
                }
                close(depth)
                bytes.append(UInt8(ascii: "}"))
            }
        }

        /// An object's members in key order (UTF-8 bytes, as Foundation's writer sorts), the last write of each key
        /// kept. Keys are equal as Swift strings are (canonical equivalence), as in Foundation's dictionary; for ASCII
        /// keys that is byte equality, so only other keys need the dictionary.
        static func sorted(_ members: [(key: String, node: Node)]) -> [(key: String, node: Node)] {
            guard members.count > 1 else { return members }
            guard members.allSatisfy({ $0.key.utf8.allSatisfy { $0 < 0x80 } }) else {
                var byKey: [String: Node] = [:]
                for member in members { byKey[member.key] = member.node }
                return byKey.map { (key: $0.key, node: $0.value) }.sorted {
                    $0.key.utf8.lexicographicallyPrecedes($1.key.utf8)
                }
            }
            // Ties broken by the order written, so the last of equal keys comes last.
            let order = members.indices.sorted { a, b in
                let (left, right) = (members[a].key, members[b].key)
                if left == right { return a < b }
                return left < right  // for ASCII, the order of the bytes
            }
            var result: [(key: String, node: Node)] = []
            result.reserveCapacity(members.count)
            for (position, index) in order.enumerated() {
                let next = position + 1 < order.count ? order[position + 1] : nil
                if let next, members[next].key == members[index].key { continue }
                result.append(members[index])
            }
            return result
        }

        private mutating func open() {
            if options.prettyPrinted { bytes.append(UInt8(ascii: "\n")) }
        }

        private mutating func separate(first: Bool, depth: Int) {
            if !first { bytes.append(UInt8(ascii: ",")) }
            guard options.prettyPrinted else { return }
            if !first { bytes.append(UInt8(ascii: "\n")) }
            indent(depth)
        }

        private mutating func close(_ depth: Int) {
            guard options.prettyPrinted else { return }
            bytes.append(UInt8(ascii: "\n"))
            indent(depth)
        }

        private mutating func indent(_ depth: Int) {
            for _ in 0..<(depth * 2) { bytes.append(UInt8(ascii: " ")) }
        }

        private static let hex = Array("0123456789abcdef".utf8)

        mutating func write(string: String) {
            bytes.append(UInt8(ascii: "\""))
            var text = string
            text.withUTF8 { utf8 in
                var start = 0
                for index in 0..<utf8.count {
                    let byte = utf8[index]
                    let escape: UInt8
                    switch byte {
                    case UInt8(ascii: "\""): escape = UInt8(ascii: "\"")
                    case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
                    case UInt8(ascii: "/") where options.escapingSlashes: escape = UInt8(ascii: "/")
                    case 0x0A: escape = UInt8(ascii: "n")
                    case 0x0D: escape = UInt8(ascii: "r")
                    case 0x09: escape = UInt8(ascii: "t")
                    case 0x08: escape = UInt8(ascii: "b")
                    case 0x0C: escape = UInt8(ascii: "f")
                    case 0x00..<0x20: escape = UInt8(ascii: "u")
                    default: continue
                    }
                    bytes += UnsafeBufferPointer(rebasing: utf8[start..<index])
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(escape)
                    if escape == UInt8(ascii: "u") {
                        bytes += [
                            UInt8(ascii: "0"), UInt8(ascii: "0"), Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0x0F)],
                        ]
                    }
                    start = index + 1
                }
                bytes += UnsafeBufferPointer(rebasing: utf8[start..<utf8.count])
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }
}
