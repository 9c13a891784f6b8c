/// A reference to an element of the current page (W3C web element reference).
public struct WebDriverElement: Sendable, Hashable {
    /// The W3C web element identifier key.
    public static let referenceKey = "element-6066-11e4-a52e-4f735466cecf"

    public let id: String

    public init(id: String) { self.id = id }

    /// The element as a script argument (`arguments[0]` in `executeScript`).
    public var json: WebDriverJSON { .object([Self.referenceKey: .string(id)]) }

    /// Reads a web element reference from a command result.
    public init?(json: WebDriverJSON) {
        guard let id = json[Self.referenceKey]?.string else { return nil }
        self.id = id
    }
}
