/// The observable state of a connection (for readiness probes and for tests).
public enum AMQPConnectionState: Sendable, Equatable, CustomStringConvertible {
    /// Not started yet, or the first connection attempt is under way.
    case connecting
    /// Connected, topology declared, consumers restored.
    case ready
    /// The broker sent `connection.blocked` (resource alarm): publishes wait until it unblocks.
    case blocked
    /// The connection was lost; reconnect attempt `attempt` (1-based) is scheduled or under way.
    case reconnecting(attempt: Int, lastError: AMQPError.Code)
    /// Closed by the application; final.
    case closed

    public var isReady: Bool { self == .ready }

    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .ready: "ready"
        case .blocked: "blocked"
        case .reconnecting(let attempt, let code): "reconnecting(attempt: \(attempt), last: \(code))"
        case .closed: "closed"
        }
    }
}
