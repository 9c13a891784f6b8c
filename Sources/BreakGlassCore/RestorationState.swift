/// Where one restoration (one `RestorationKey`) stands in the worker's life cycle.
///
/// The raw value is the spelling stored in the ledger's `state` column (and checked there by a `CHECK`).
///
/// ```
/// received ─▶ claimed ─▶ gate-passed ─▶ submitting ─▶ granted
///    │           │  ▲          │              │
///    │           │  │          ▼              ▼
///    └─▶ rejected ◀┘  └─ halted ◀─────────────┘   halted ─▶ resolved (a person closed it)
///                         │  ▲                     halted ─▶ claimed (a person resumed it)
/// ```
public enum RestorationState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// The request was recorded; nobody works on it yet.
    case received
    /// A worker owns it (owner id, lease, epoch) and runs the gate.
    case claimed
    /// The gate passed; the worker drives the console up to, not including, the final click.
    case gatePassed = "gate-passed"
    /// Made durable BEFORE the final submit click: from here on access may have been granted.
    case submitting
    /// The console confirmed the grant. Final: a grant never goes back (revocation is a separate mark).
    case granted
    /// Stopped safely; a person must take over. Leaves only through a takeover resolution.
    case halted
    /// The message was unacceptable (contract §6, rejected codes). Final.
    case rejected
    /// A person closed the takeover without resuming it. Final.
    case resolved

    public var description: String { rawValue }

    /// A worker holds the request under a lease (claimed, gate-passed, submitting).
    public var isInFlight: Bool {
        switch self {
        case .claimed, .gatePassed, .submitting: true
        case .received, .granted, .halted, .rejected, .resolved: false
        }
    }

    /// Nothing can ever change the outcome again (granted, rejected, resolved).
    public var isFinal: Bool {
        switch self {
        case .granted, .rejected, .resolved: true
        case .received, .claimed, .gatePassed, .submitting, .halted: false
        }
    }

    /// A redelivery of this key must not be run again: it is final or waits for a person (halted).
    public var isDecided: Bool { isFinal || self == .halted }
}
