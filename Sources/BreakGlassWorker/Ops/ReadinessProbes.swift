public import BreakGlassAMQP
public import BreakGlassLedger
public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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

/// The ledger file is open, durable (WAL, synchronous=FULL) and writable.
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
            guard access(ledger.configuration.path, W_OK) == 0 else {
                return [.init(name: "ledger", ok: false, detail: "not writable")]
            }
            return [.init(name: "ledger", ok: true, detail: "writable, WAL, synchronous=FULL")]
        } catch {
            return [.init(name: "ledger", ok: false, detail: "unreadable")]
        }
    }
}

/// The WebDriver endpoint answers `/status` with `ready: true`.
public struct WebDriverProbe: ReadinessProbe {
    let statusURL: @Sendable () -> URL?

    public init(statusURL: @escaping @Sendable () -> URL?) {
        self.statusURL = statusURL
    }

    public func check() async -> [Readiness.Check] {
        guard let url = statusURL() else { return [.init(name: "webdriver", ok: false, detail: "not started")] }
        var request = URLRequest(url: url)
        request.timeoutInterval = 2
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard (response as? HTTPURLResponse)?.statusCode == 200,
                let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let value = object["value"] as? [String: Any], value["ready"] as? Bool == true
            else { return [.init(name: "webdriver", ok: false, detail: "not ready")] }
            return [.init(name: "webdriver", ok: true, detail: "ready")]
        } catch {
            return [.init(name: "webdriver", ok: false, detail: "unreachable")]
        }
    }
}
