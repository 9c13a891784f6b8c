public import BreakGlassAMQP
public import BreakGlassLedger
import Foundation

/// Broker connected and not blocked (`connection.blocked` makes publishers wait: not ready).
public struct BrokerProbe: ReadinessProbe {
    let connection: AMQPConnection

    public init(connection: AMQPConnection) {
        self.connection = connection
    }

    public func check() async -> [Readiness.Check] {
        let state = connection.state
        switch state {
        case .ready:
            return [.init(name: "broker", ok: true, detail: "connected")]
        case .blocked:
            return [.init(name: "broker", ok: false, detail: "blocked by the broker (resource alarm)")]
        default:
            return [.init(name: "broker", ok: false, detail: "\(state)")]
        }
    }
}

/// The ledger is open, durable (SQLite: WAL, synchronous=FULL; PostgreSQL: synchronous_commit on) and really takes
/// writes (`Ledger.writeProbe`).
public struct LedgerProbe: ReadinessProbe {
    let ledger: any Ledger

    public init(ledger: any Ledger) {
        self.ledger = ledger
    }

    public func check() async -> [Readiness.Check] {
        let probe = await ledger.writeProbe()
        return [.init(name: "ledger", ok: probe.ok, detail: probe.detail)]
    }
}

/// The WebDriver endpoint answers `/status` with `ready: true`.
public struct WebDriverProbe: ReadinessProbe {
    let isReady: @Sendable () async -> Bool

    public init(isReady: @escaping @Sendable () async -> Bool) {
        self.isReady = isReady
    }

    public func check() async -> [Readiness.Check] {
        await isReady()
            ? [.init(name: "webdriver", ok: true, detail: "ready")]
            : [.init(name: "webdriver", ok: false, detail: "not ready or unreachable")]
    }
}
