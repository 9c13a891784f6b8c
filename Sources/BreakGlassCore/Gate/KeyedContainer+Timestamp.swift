import Foundation

extension KeyedDecodingContainer {
    /// Decodes a strict RFC 3339 UTC time (`Timestamp.parse`); anything else is `dataCorrupted`.
    func decodeTimestamp(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not an RFC 3339 UTC time")
        }
        return date
    }

    /// Like `decodeTimestamp`, but absent or `null` gives nil.
    func decodeTimestampIfPresent(forKey key: Key) throws -> Date? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not an RFC 3339 UTC time")
        }
        return date
    }
}

extension KeyedEncodingContainer {
    /// Encodes a time as RFC 3339 UTC, with milliseconds only when it has a fraction.
    mutating func encodeTimestamp(_ date: Date?, forKey key: Key) throws {
        guard let date else {
            try encodeNil(forKey: key)
            return
        }
        let fractional = date.timeIntervalSince1970.rounded(.down) != date.timeIntervalSince1970
        try encode(Timestamp.format(date, fractional: fractional), forKey: key)
    }
}
