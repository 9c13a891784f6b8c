public import Logging
import Foundation
import BreakGlassCore

/// A swift-log handler writing one JSON object per line (`ts`, `level`, `label`, `msg`, then metadata with dotted
/// keys such as `breakglass.case_id`), redacted by default: metadata whose key names a secret (token, password,
/// secret, cookie, authorization, seed, key material) is replaced by `<redacted>`, and e-mail addresses and bearer
/// tokens in messages and values are masked.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: LogSink

    public init(label: String, level: Logger.Level = .info, sink: LogSink = .standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        // The request being processed: its trace id on every line (issue 18.6), whether or not spans are exported.
        if merged["trace_id"] == nil, let trace = Spans.parent ?? TraceContext.current {
            merged["trace_id"] = .string(trace.traceID)
            merged["span_id"] = .string(trace.spanID)
        }
        var line = "{\"ts\":\"\(Timestamp.format(Date(), fractional: true))\",\"level\":\"\(event.level.rawValue)\""
        line += ",\"label\":\(Self.quote(label)),\"msg\":\(Self.quote(LogRedaction.text(event.message.description)))"
        for key in merged.keys.sorted() {
            line += ",\(Self.quote(key)):\(Self.json(key: key, merged[key]!))"
        }
        line += "}\n"
        sink.write(line)
    }

    /// A metadata value as typed JSON: numbers and booleans as themselves, arrays as arrays, dictionaries as objects,
    /// everything else a redacted string (a key that names a secret is `<redacted>` whatever its type).
    static func json(key: String, _ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text):
            return quote(LogRedaction.value(key: key, text))
        case .stringConvertible(let convertible):
            let redacted = LogRedaction.value(key: key, convertible.description)
            guard redacted == convertible.description else { return quote(redacted) }
            switch convertible {
            case let number as Int: return String(number)
            case let number as Int64: return String(number)
            case let number as UInt16: return String(number)
            case let number as UInt64: return String(number)
            case let number as Double where number.isFinite: return String(number)
            case let flag as Bool: return flag ? "true" : "false"
            default: return quote(redacted)
            }
        case .array(let values):
            return "[" + values.map { json(key: key, $0) }.joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            return "{"
                + dictionary.keys.sorted().map { "\(quote($0)):\(json(key: key + "." + $0, dictionary[$0]!))" }
                .joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Where log lines go. Writes are whole lines, serialised by the file descriptor (lines under PIPE_BUF are atomic).
public struct LogSink: Sendable {
    let write: @Sendable (String) -> Void

    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    func write(_ line: String) { write(line) }

    public static let standardError = LogSink { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

/// Redaction applied to every log line.
public enum LogRedaction {
    static let secretKeyWords = [
        "token", "password", "secret", "cookie", "authorization", "seed", "private", "credential",
    ]

    static let secretKeyWordBytes = secretKeyWords.map { Array($0.utf8) }

    public static func value(key: String, _ value: String) -> String {
        namesSecret(key) ? "<redacted>" : text(value)
    }

    /// Whether a metadata key names a secret. ASCII keys (all of ours) are searched byte by byte, ignoring case;
    /// others keep `lowercased()` and Foundation's search (issue 21: a hundredth of a halt's CPU went to the latter).
    static func namesSecret(_ key: String) -> Bool {
        guard key.utf8.allSatisfy({ $0 < 0x80 }) else {
            let lowered = key.lowercased()
            return secretKeyWords.contains(where: { lowered.contains($0) })
        }
        return secretKeyWordBytes.contains { firstRange(of: $0, in: key, asciiCaseInsensitive: true) != nil }
    }

    /// Masks e-mail addresses, bearer tokens and URL passwords in free text.
    public static func text(_ text: String) -> String {
        var result = text
        result = maskEmails(result)
        result = maskBearer(result)
        result = maskURLPasswords(result)
        return result
    }

    static func maskEmails(_ text: String) -> String {
        guard text.contains("@") else { return text }
        var output = ""
        var word = ""
        func flush() {
            if let at = word.firstIndex(of: "@"), at != word.startIndex, word[word.index(after: at)...].contains(".") {
                output += "***@***"
            } else {
                output += word
            }
            word = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || "._%+-@".contains(character) {
                word.append(character)
            } else {
                flush()
                output.append(character)
            }
        }
        flush()
        return output
    }

    static func maskBearer(_ text: String) -> String {
        guard let range = bearerRange(in: text) else { return text }
        var tail = text[range.upperBound...]
        let end = tail.firstIndex(where: { $0 == " " || $0 == "\"" || $0 == "," }) ?? tail.endIndex
        tail = tail[end...]
        return String(text[..<range.upperBound]) + "<redacted>" + maskBearer(String(tail))
    }

    static func maskURLPasswords(_ text: String) -> String {
        // scheme://user:password@host → scheme://user:<redacted>@host
        guard let scheme = firstRange(of: Array("://".utf8), in: text) else { return text }
        let rest = text[scheme.upperBound...]
        guard let at = rest.firstIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":"),
            !rest[..<at].contains("/"), !rest[..<at].contains(" ")
        else { return text }
        return String(text[..<rest.index(after: colon)]) + "<redacted>" + maskURLPasswords(String(rest[at...]))
    }

    /// `text.range(of: "Bearer ", options: .caseInsensitive)` without Foundation's locale-aware search on every log
    /// value (issue 21: a sixtieth of a halt's CPU). ASCII text is scanned byte by byte; other text keeps Foundation's
    /// search, whose case folding reaches beyond ASCII.
    static func bearerRange(in text: String) -> Range<String.Index>? {
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
            return text.range(of: "Bearer ", options: .caseInsensitive)
        }
        return firstRange(of: Array("bearer ".utf8), in: text, asciiCaseInsensitive: true)
    }

    /// The first occurrence of `needle` (ASCII bytes) in `text`'s UTF-8, as a range of `text`'s indices.
    static func firstRange(
        of needle: [UInt8], in text: String, asciiCaseInsensitive: Bool = false
    ) -> Range<String.Index>? {
        let utf8 = text.utf8
        guard !needle.isEmpty, utf8.count >= needle.count else { return nil }
        func lower(_ byte: UInt8) -> UInt8 {
            asciiCaseInsensitive && (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
        }
        var start = utf8.startIndex
        let last = utf8.index(utf8.endIndex, offsetBy: -needle.count)
        while start <= last {
            var position = start
            var matched = true
            for byte in needle {
                if lower(utf8[position]) != byte {
                    matched = false
                    break
                }
                position = utf8.index(after: position)
            }
            if matched { return start..<position }
            start = utf8.index(after: start)
        }
        return nil
    }
}
