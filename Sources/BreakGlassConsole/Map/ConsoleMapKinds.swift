public import BreakGlassCore

/// How a field is filled.
public enum ConsoleFieldKind: String, Sendable, Hashable, CaseIterable {
    case text
    case checkbox
    case checkboxes
}

/// What an assertion checks.
public enum ConsoleAssertionKind: String, Sendable, Hashable, CaseIterable {
    /// The element's trimmed text equals the value.
    case textEquals = "text_equals"
    /// The element's text contains the value.
    case textContains = "text_contains"
    /// The input's `value` property equals the value.
    case valueEquals = "value_equals"
    /// An element matching the selector exists.
    case present
    /// No element matches the selector.
    case absent
    /// Among the checkboxes matching the selector, exactly those whose attribute is in the list are checked.
    case checkedExactly = "checked_exactly"
    /// Among the checkboxes matching the selector, no box is checked whose attribute is outside the list (nothing
    /// broader than approved; fewer is allowed). The before-fill safety check of a scope screen (issue 19.1).
    case checkedSubsetOf = "checked_subset_of"
    /// The elements matching the selector carry exactly the listed values (attribute or text), in any order.
    case listEquals = "list_equals"
    /// The text of every element matching the selector, split at `separator` (items trimmed, empty items dropped),
    /// is the value as a set: order-free, each item once (a review line "Restore admins, Reset MFA").
    case textSetEquals = "text_set_equals"
    /// Exactly this many elements match the selector: the length of a list value, or a literal integer.
    case countEquals = "count_equals"

    var needsValue: Bool { self != .present && self != .absent }
    var needsList: Bool { self == .checkedExactly || self == .checkedSubsetOf || self == .listEquals }
}

/// When an assertion runs on its screen.
public enum ConsoleAssertionPhase: String, Sendable, Hashable, CaseIterable {
    case beforeFill = "before_fill"
    case afterFill = "after_fill"
}

extension ConsoleMap.Field {
    /// Validated at load.
    public var fieldKind: ConsoleFieldKind { kind.flatMap(ConsoleFieldKind.init(rawValue:)) ?? .text }
    /// Validated at load.
    public var source: ConsoleValue { ConsoleValue(parsing: value) ?? .literal("") }
    public var isSecret: Bool { secret == true || source.isSecret }
}

extension ConsoleMap.Assertion {
    /// Validated at load.
    public var assertionKind: ConsoleAssertionKind { ConsoleAssertionKind(rawValue: kind) ?? .present }
    public var source: ConsoleValue? { value.flatMap(ConsoleValue.init(parsing:)) }
    public var assertionPhase: ConsoleAssertionPhase {
        phase.flatMap(ConsoleAssertionPhase.init(rawValue:)) ?? .afterFill
    }
}

extension ConsoleMap.Assertion {
    /// Validated at load (a console reason code).
    public var reasonCode: ReasonCode { ReasonCode(rawValue: reason) ?? .consoleUnexpectedScreen }
}

extension ConsoleMap.Watch {
    /// Validated at load (a console reason code).
    public var reasonCode: ReasonCode { ReasonCode(rawValue: reason) ?? .consoleUnexpectedScreen }
}
