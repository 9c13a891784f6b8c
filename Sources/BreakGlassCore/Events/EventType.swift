/// The event types of the contract (§5); the raw value is both the CloudEvents `type` and the routing key.
public enum EventType: String, Sendable, Hashable, Codable, CaseIterable {
    case outcome = "breakglass.restoration.outcome"
    case halted = "breakglass.restoration.halted"
    case evidenceReady = "breakglass.restoration.evidence-ready"
    case revoked = "breakglass.restoration.revoked"
    case resumed = "breakglass.restoration.resumed"
}
