public import Foundation

/// JSON text with sorted keys: byte for byte what Foundation's `JSONEncoder` writes with `.sortedKeys` (plus
/// `.prettyPrinted` and `.withoutEscapingSlashes` when asked) and its default strategies, at a fraction of its cost
/// (issue 21.2: Foundation's encoder was 8 % of the worker's CPU per halt at the gate, for the evidence documents).
///
/// Evidence bundles, the ledger's records and the events are all written this way, so the same value always has the
/// same bytes. `SortedJSONEncoderTests` holds the two encoders to the same output on every document type of a
/// bundle and on generated values. The few values Foundation's encoder treats specially (`Data`, `URL`, `Decimal`,
/// non-finite numbers) are handed to Foundation's encoder whole, so their output and errors stay Foundation's; that
/// works as long as no `encode(to:)` swallows the error (`try?`), which none of ours does. Not carried over, because
/// nothing here uses them: Foundation's nesting limit (512 levels), `Int128`, and a keyed `superEncoder` that is
/// written over by a later value at the same key (Foundation places it when the encoder is released).
public struct SortedJSONEncoder: Sendable {
    public struct Options: Sendable, Hashable {
        public var prettyPrinted: Bool
        public var escapingSlashes: Bool

        public init(prettyPrinted: Bool, escapingSlashes: Bool) {
            self.prettyPrinted = prettyPrinted
            self.escapingSlashes = escapingSlashes
        }

        /// Evidence documents and the manifest: `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`.
        public static let pretty = Options(prettyPrinted: true, escapingSlashes: false)
        /// Events and step logs: `[.sortedKeys, .withoutEscapingSlashes]`.
        public static let compact = Options(prettyPrinted: false, escapingSlashes: false)
        /// The ledger's records: `[.sortedKeys]`.
        public static let ledger = Options(prettyPrinted: false, escapingSlashes: true)

        var foundationFormatting: JSONEncoder.OutputFormatting {
            var formatting: JSONEncoder.OutputFormatting = [.sortedKeys]
            if prettyPrinted { formatting.insert(.prettyPrinted) }
            if !escapingSlashes { formatting.insert(.withoutEscapingSlashes) }
            return formatting
        }
    }

    public var options: Options

    public init(_ options: Options) {
        self.options = options
    }

    /// The JSON bytes of `value`; throws only where Foundation's encoder throws (a non-finite number).
    public func encode(_ value: some Encodable) throws -> Data {
        Data(try encodeBytes(value))
    }

    public func encodeBytes(_ value: some Encodable) throws -> [UInt8] {
        let node: Node
        do {
            if let leaf = try Node.leaf(value) {
                node = leaf
            } else {
                let encoder = TreeEncoder(parent: nil, key: nil)
                try value.encode(to: encoder)
                // Foundation's encoder refuses a top-level value that encoded nothing; its error is the answer.
                guard let stored = encoder.storage else { throw Unsupported() }
                node = stored
            }
        } catch is Unsupported {
            let encoder = JSONEncoder()
            encoder.outputFormatting = options.foundationFormatting
            return Array(try encoder.encode(value))
        }
        var writer = Writer(options: options)
        writer.write(node, depth: 0)
        return writer.bytes
    }

    /// A value whose bytes only Foundation's encoder decides.
    struct Unsupported: Error {}
}
