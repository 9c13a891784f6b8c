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

/// The ledger file is open, durable (WAL, synchronous=FULL) and really takes writes (`Ledger.writeProbe`).
public struct LedgerProbe: ReadinessProbe {
    let ledger: Ledger

    public init(ledger: Ledger) {
        self.ledger = ledger
    }

    public func check() async -> [Readiness.Check] {
        do {
            let durability = try ledger.durability()
            guard durability.journalMode.lowercased() == "wal", durability.synchronous == 2 else {
                return [.init(name: "ledger", ok: false, detail: "not durable")]
            }
            let probe = ledger.writeProbe()
            guard probe.ok else { return [.init(name: "ledger", ok: false, detail: "not writable: \(probe.detail)")] }
            return [.init(name: "ledger", ok: true, detail: "writable, WAL, synchronous=FULL")]
        } catch {
            return [.init(name: "ledger", ok: false, detail: "unreadable")]
        }
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
