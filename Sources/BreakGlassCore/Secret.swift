/// A secret value (a bearer token, a password): its `description`, `debugDescription` and reflection are all
/// `<redacted>`, so interpolating it into a log line, an error or a `dump` never shows the value.
///
/// Read the value only where it is used (an `Authorization` header), through `revealed`.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself. Never log it, never put it in an error or an event.
    public var revealed: String { value }

    /// True when the secret is the empty string (an unset token).
    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
