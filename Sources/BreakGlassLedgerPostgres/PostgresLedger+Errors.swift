import BreakGlassCore
import BreakGlassLedger
import Foundation
import PostgresNIO

/// Errors as `LedgerError`, like `SQLiteLedger.map`: a trigger's `breakglass:` refusal is a forbidden transition;
/// anything else from the server or the network is a database error whose detail names `host:port` and the cause.
/// Details never hold the password, a statement's parameters, or a payload.
extension PostgresLedger {
    static func map(_ error: any Error, key: RestorationKey?, endpoint: String) -> LedgerError {
        let error = unwrap(error)
        if let error = error as? LedgerError { return error }
        if let error = error as? RestorationStateMachine.TransitionError {
            let someKey = key ?? RestorationKey(caseID: "?", tenantID: "?")
            switch error.code {
            case .fenced:
                return .fenced(someKey, held: error.heldEpoch ?? -1, current: error.currentEpoch)
            case .leaseHeld:
                return .leaseHeld(someKey, owner: error.owner ?? "?")
            case .leaseLapsed:
                return .leaseLapsed(someKey, state: error.state)
            case .resumeLimit:
                return .resumeLimit(someKey, resumes: Int(error.currentEpoch ?? 0))
            case .forbidden:
                return .forbiddenTransition(
                    key, from: error.state, detail: "transition \(error.transition?.rawValue ?? "?")")
            }
        }
        if let error = error as? PSQLError, error.code == .server {
            let message = error.serverInfo?[.message] ?? ""
            if message.hasPrefix("breakglass:") {
                return .forbiddenTransition(key, from: nil, detail: message)
            }
        }
        return .database(key, detail: "\(endpoint): \(describe(error))", underlying: error)
    }

    /// The error a transaction wrapper or a pool reports, down to its cause.
    static func unwrap(_ error: any Error) -> any Error {
        if let error = error as? PostgresTransactionError {
            if let cause = error.closureError ?? error.commitError ?? error.beginError { return unwrap(cause) }
        }
        return error
    }

    /// A serialization failure or a deadlock: the transaction was rolled back and may be run again.
    static func isTransient(_ error: any Error) -> Bool {
        guard let error = unwrap(error) as? PSQLError, error.code == .server else { return false }
        let state = error.serverInfo?[.sqlState]
        return state == "40001" || state == "40P01"
    }

    /// A short, secret-free description of a failure.
    static func describe(_ error: any Error) -> String {
        let error = unwrap(error)
        if let error = error as? LedgerError { return error.detail ?? error.description }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState] ?? "?"
                let message = error.serverInfo?[.message] ?? "server error"
                return "PostgreSQL \(state): \(message)"
            case .connectionError:
                return "cannot connect: \(error.underlying.map(describeCause) ?? "connection failed")"
            case .serverClosedConnection:
                return "the server closed the connection"
                    + (error.underlying.map { " (\(describeCause($0)))" } ?? "")
            case .clientClosedConnection, .uncleanShutdown:
                return "the connection was closed" + (error.underlying.map { " (\(describeCause($0)))" } ?? "")
            case .poolClosed:
                return "the ledger is shut down"
            case .queryCancelled:
                return "the statement was cancelled"
            case .sslUnsupported:
                return "the server does not offer TLS"
            case .failedToAddSSLHandler:
                return "TLS set-up failed" + (error.underlying.map { " (\(describeCause($0)))" } ?? "")
            case .authMechanismRequiresPassword:
                return "the server asks for a password and none was given (ledger.password_file)"
            case .unsupportedAuthMechanism:
                return "the server's authentication method is not supported"
            case .saslError:
                return "authentication failed (SASL)"
            default:
                return "PostgreSQL client error (\(error.code))"
            }
        }
        return describeCause(error)
    }

    /// NIO, TLS and pool errors describe themselves without secrets; `circuitBreakerTripped` is the pool giving up on
    /// connecting for a while.
    private static func describeCause(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionCreationCircuitBreakerTripped") {
            return "no connection to the server could be opened for a while (refused, unreachable or timed out)"
        }
        if text.contains("poolShutdown") { return "the ledger is shut down" }
        if text.contains("requestCancelled") { return "cancelled while waiting for a connection" }
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}
