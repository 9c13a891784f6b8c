import Foundation

/// Reading an id out of a console's text by pattern (issue 19.3), the same wherever an id is read: the confirmation,
/// the "grant already exists" page, a saved draft, a column of the active-grants listing.
///
/// Semantics, stated once and enforced here:
/// - the pattern is **anchored**: it must match the **whole** trimmed text (it is applied as `^(?:pattern)$`, so a
///   pattern written with its own `^…$` means the same);
/// - with **one capture group**, the id is what the group captured (a sentence such as "reference already used by
///   EA-2026-000123" gives `EA-2026-000123` with `reference already used by (EA-\d{4}-\d{6})`); with none, the id is
///   the whole text; more than one group is refused by `check-map`;
/// - an empty capture, or no match, is no id (`nil`): the caller halts or reports as for a missing element;
/// - without a pattern, the id is the whole text when it is not empty.
public enum ConsoleIDPattern {
    /// The id in `text` under `pattern`, or nil.
    public static func extract(_ text: String, pattern: String?) -> String? {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pattern else { return text.isEmpty ? nil : text }
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return nil }
        let whole = NSRange(text.startIndex..., in: text)
        guard let match = regex.firstMatch(in: text, range: whole), match.range == whole else { return nil }
        let range = regex.numberOfCaptureGroups >= 1 ? match.range(at: 1) : match.range
        guard range.location != NSNotFound, let swiftRange = Range(range, in: text) else { return nil }
        let id = String(text[swiftRange])
        return id.isEmpty ? nil : id
    }

    /// Why `pattern` cannot be used (not a regular expression, more than one capture group), or nil.
    public static func problem(_ pattern: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else {
            return "not a valid regular expression"
        }
        if regex.numberOfCaptureGroups > 1 {
            return "at most one capture group (the id); use (?:...) for grouping"
        }
        return nil
    }
}
