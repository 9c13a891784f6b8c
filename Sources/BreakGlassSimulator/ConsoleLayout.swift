/// How the simulated console is built (fixtures `console.layout`). The same flow logic and the same data under two
/// markups, so a second console map can be shown to drive a console it was written for, with no code (issue 19.5).
public enum ConsoleLayout: String, Codable, Sendable, CaseIterable {
    /// The reference console (`config/consoles/reference.yaml`): element ids, `<main data-screen=…>` markers,
    /// tenant before incident, scope before expiration.
    case reference
    /// Another console (`config/consoles/alternate.yaml`): no element ids at all (elements carry `data-field`
    /// attributes, inputs their names), no screen attribute (pages are named only by their `<h1>`), the incident
    /// before the tenant, the expiration before the scopes, the review screen's scopes as one comma-separated text,
    /// and the confirmation id only inside a sentence.
    case alternate

    /// The grant flow's input screens in this console's order.
    public var flow: [ConsoleScreen] {
        switch self {
        case .reference: ConsoleScreen.flow
        case .alternate:
            [.incident, .incidentVerify, .tenant, .tenantVerify, .expiration, .scope, .approvals, .acknowledgement]
        }
    }
}
