/// The event types of the contract (§5); the raw value is both the CloudEvents `type` and the routing key.
public enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    case outcome = "breakglass.restoration.outcome"
    case halted = "breakglass.restoration.halted"
    case evidenceReady = "breakglass.restoration.evidence-ready"
    case revoked = "breakglass.restoration.revoked"
    case resumed = "breakglass.restoration.resumed"

    /// The `dataschema` of events of this type (contract 1.1): the `$id` of the JSON Schema of their `data`, published
    /// in `docs/contract/schemas/events/<suffix>.schema.json`.
    public var dataSchema: String {
        "urn:breakglass:schema:event:\(rawValue.dropFirst("breakglass.restoration.".count)):v1"
    }
}
