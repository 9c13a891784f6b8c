public import BreakGlassCore

/// Why a ledger operation failed. `description` stays generic; the fields carry the details.
public struct LedgerError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The database could not be opened, migrated, or set to the required durability.
        case openFailed = "open-failed"
        /// `PRAGMA synchronous` is not FULL on the writer after opening.
        case notDurable = "not-durable"
        /// The caller's epoch is not the row's: another owner took the request over. Stop working on it.
        case fenced
        /// No restoration row for the key.
        case notFound = "not-found"
        /// The life cycle refuses the transition (in Swift, or by the schema's triggers).
        case forbiddenTransition = "forbidden-transition"
        /// A live owner holds the lease.
        case leaseHeld = "lease-held"
        /// The caller's own lease has lapsed (or would within the required margin): it may not click.
        case leaseLapsed = "lease-lapsed"
        /// The request was resumed as often as the configuration allows.
        case resumeLimit = "resume-limit"
        /// An escalated halt may be resumed only after reconciliation showed no grant.
        case escalatedHalt = "escalated-halt"
        /// The input was refused (an identifier, an empty value).
        case invalidInput = "invalid-input"
        /// SQLite refused the operation (constraint, I/O, busy beyond the timeout).
        case database
    }

    public let code: Code
    public let key: RestorationKey?
    public let state: RestorationState?
    public let heldEpoch: Int64?
    public let currentEpoch: Int64?
    /// Extra detail for operators (SQLite result code and message, a field name). Never a secret.
    public let detail: String?
    public let underlying: (any Error)?

    public var description: String { "ledger operation failed (\(code.rawValue))" }

    init(
        code: Code, key: RestorationKey? = nil, state: RestorationState? = nil, heldEpoch: Int64? = nil,
        currentEpoch: Int64? = nil, detail: String? = nil, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.key = key
        self.state = state
        self.heldEpoch = heldEpoch
        self.currentEpoch = currentEpoch
        self.detail = detail
        self.underlying = underlying
    }

    public static func openFailed(detail: String, underlying: (any Error)? = nil) -> Self {
        Self(code: .openFailed, detail: detail, underlying: underlying)
    }

    public static func notDurable(synchronous: Int) -> Self {
        Self(code: .notDurable, detail: "PRAGMA synchronous = \(synchronous), expected 2 (FULL)")
    }

    /// A durability setting of the store is weaker than the ledger's promise (`detail` names the setting).
    public static func notDurable(detail: String) -> Self {
        Self(code: .notDurable, detail: detail)
    }

    public static func fenced(_ key: RestorationKey, held: Int64, current: Int64?) -> Self {
        Self(code: .fenced, key: key, heldEpoch: held, currentEpoch: current)
    }

    public static func notFound(_ key: RestorationKey) -> Self {
        Self(code: .notFound, key: key)
    }

    public static func forbiddenTransition(
        _ key: RestorationKey?, from state: RestorationState?, detail: String
    ) -> Self {
        Self(code: .forbiddenTransition, key: key, state: state, detail: detail)
    }

    public static func leaseHeld(_ key: RestorationKey, owner: String) -> Self {
        Self(code: .leaseHeld, key: key, detail: "owner \(owner)")
    }

    public static func leaseLapsed(_ key: RestorationKey, state: RestorationState?) -> Self {
        Self(code: .leaseLapsed, key: key, state: state)
    }

    public static func resumeLimit(_ key: RestorationKey, resumes: Int) -> Self {
        Self(code: .resumeLimit, key: key, state: .halted, detail: "resumed \(resumes) times")
    }

    public static func escalatedHalt(_ key: RestorationKey) -> Self {
        Self(code: .escalatedHalt, key: key, state: .halted)
    }

    public static func invalidInput(_ detail: String) -> Self {
        Self(code: .invalidInput, detail: detail)
    }

    public static func database(_ key: RestorationKey?, detail: String, underlying: (any Error)?) -> Self {
        Self(code: .database, key: key, detail: detail, underlying: underlying)
    }
}
