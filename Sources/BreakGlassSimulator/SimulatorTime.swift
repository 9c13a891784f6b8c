public import Foundation

/// RFC 3339 times as the simulator reads and writes them, plus the fixtures' relative form (`now+2h`).
public enum SimulatorTime {
    /// `2026-11-25T18:20:00Z` (UTC, whole seconds).
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt))
    }

    /// Parses RFC 3339 with or without fractional seconds, any offset.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: false).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return nil
    }

    /// Resolves `now`, `now+N<unit>` or `now-N<unit>` (unit `s`, `m`, `h`, `d`) against `now`; an RFC 3339 time
    /// is returned normalised. `nil` when the text is neither.
    public static func resolve(_ text: String, now: Date) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "now" { return format(now) }
        if trimmed.hasPrefix("now"), trimmed.count >= 6 {
            let rest = trimmed.dropFirst(3)
            guard let sign = rest.first, sign == "+" || sign == "-" else { return nil }
            let body = rest.dropFirst()
            guard let unit = body.last, let amount = Int(body.dropLast()), amount >= 0 else { return nil }
            let seconds: Double
            switch unit {
            case "s": seconds = Double(amount)
            case "m": seconds = Double(amount) * 60
            case "h": seconds = Double(amount) * 3600
            case "d": seconds = Double(amount) * 86_400
            default: return nil
            }
            return format(now.addingTimeInterval(sign == "+" ? seconds : -seconds))
        }
        return parse(trimmed).map(format)
    }
}
