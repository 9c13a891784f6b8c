public import BreakGlassCore
public import BreakGlassLedger

/// Why a person's takeover action (resume, revoke) was refused or could not be completed. `description` stays
/// generic; the fields carry the details (identifiers and codes only, never a secret or personal data).
public struct TakeoverError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No restoration for the key.
        case notFound = "not-found"
        /// The action needs another state (resume: `halted`; revoke: `granted`).
        case wrongState = "wrong-state"
        /// The ledger holds no original message body for the key (it cannot be run again or revoked safely).
        case payloadMissing = "payload-missing"
        /// The stored body no longer decodes, or belongs to another key.
        case payloadUnreadable = "payload-unreadable"
        /// The original request's `not_after` has passed: it must not be acted on again.
        case requestExpired = "request-expired"
        /// Resumed as often as `ledger.max_resumes` allows.
        case resumeLimit = "resume-limit"
        /// An escalated halt (access may have been granted) needs `--after-reconciliation`.
        case escalated
        /// The reconciliation found an active grant for the key in the console: resuming would grant twice.
        case grantExists = "grant-exists"
        /// The console's active grants could not be read: whether a grant exists is unknown.
        case reconciliationFailed = "reconciliation-failed"
        /// A live owner holds the key (its lease has not lapsed): leave it alone.
        case inProgress = "in-progress"
        /// The grant was already revoked.
        case alreadyRevoked = "already-revoked"
        /// The evidence bundle recording the person's decision could not be written (nothing was changed).
        case evidenceFailed = "evidence-failed"
        /// The person or the note/reason is empty.
        case invalidInput = "invalid-input"
        /// The ledger refused or failed (see `ledgerCode`).
        case ledger
        /// NOT a refusal: `ledger.resume` committed (the takeover is resolved, the `resumed` event is in the
        /// outbox, the key is in flight under this command's claim at `epoch`), then the run failed (fenced by a
        /// newer owner, database error; see `ledgerCode`). The key stays in flight until the claim's lease lapses;
        /// then `takeover recover CASE/TENANT` finishes it safely (a `submitting` row is reconciled, never resubmitted).
        /// The key's last `submitting` began less than lease + confirmation bound ago: a worker frozen before its
        /// click could still click. `detail` says how many seconds to wait.
        case tooSoon = "too-soon"
        case resumedButUnfinished = "resumed-but-unfinished"
        /// NOT a refusal: `takeover recover` took the claim over (at `epoch`), then the run failed; as for
        /// `resumedButUnfinished`, run `takeover recover` again once the lease lapses.
        case recoveredButUnfinished = "recovered-but-unfinished"

        /// Whether the ledger already changed (a claim was taken): the key is in flight, events may be pending.
        public var leftInFlight: Bool { self == .resumedButUnfinished || self == .recoveredButUnfinished }
    }

    public let code: Code
    public let key: RestorationKey?
    public let state: RestorationState?
    /// Confirmation ids of grants the console showed (`grantExists`).
    public let confirmationIDs: [String]
    /// Reason codes of a failed console check (`reconciliationFailed`).
    public let reasons: [ReasonCode]
    /// The evidence bundle written on the way, if any (the grant check).
    public let evidencePath: String?
    public let ledgerCode: LedgerError.Code?
    /// The claim epoch this command held when its run failed (`resumedButUnfinished`, `recoveredButUnfinished`).
    public let epoch: Int64?
    /// Extra operator detail: a field name, a count. Never a secret.
    public let detail: String?

    public var description: String {
        code.leftInFlight
            ? "takeover action started but not finished (\(code.rawValue))"
            : "takeover action refused (\(code.rawValue))"
    }

    init(
        _ code: Code, key: RestorationKey?, state: RestorationState? = nil, confirmationIDs: [String] = [],
        reasons: [ReasonCode] = [], evidencePath: String? = nil, ledgerCode: LedgerError.Code? = nil,
        epoch: Int64? = nil,
        detail: String? = nil
    ) {
        self.code = code
        self.key = key
        self.state = state
        self.confirmationIDs = confirmationIDs
        self.reasons = reasons
        self.evidencePath = evidencePath
        self.ledgerCode = ledgerCode
        self.epoch = epoch
        self.detail = detail
    }

    public static func notFound(_ key: RestorationKey) -> Self { Self(.notFound, key: key) }

    public static func wrongState(_ key: RestorationKey, _ state: RestorationState, expected: RestorationState) -> Self
    {
        Self(.wrongState, key: key, state: state, detail: "expected \(expected.rawValue)")
    }

    public static func payloadMissing(_ key: RestorationKey) -> Self { Self(.payloadMissing, key: key) }

    public static func payloadUnreadable(_ key: RestorationKey, _ detail: String) -> Self {
        Self(.payloadUnreadable, key: key, detail: detail)
    }

    public static func requestExpired(_ key: RestorationKey) -> Self { Self(.requestExpired, key: key) }

    public static func resumeLimit(_ key: RestorationKey, resumes: Int?) -> Self {
        Self(.resumeLimit, key: key, state: .halted, detail: resumes.map { "resumed \($0) times" })
    }

    public static func escalated(_ key: RestorationKey) -> Self { Self(.escalated, key: key, state: .halted) }

    public static func grantExists(_ key: RestorationKey, confirmationIDs: [String], evidencePath: String?) -> Self {
        Self(.grantExists, key: key, state: .halted, confirmationIDs: confirmationIDs, evidencePath: evidencePath)
    }

    public static func reconciliationFailed(_ key: RestorationKey, reasons: [ReasonCode], evidencePath: String?) -> Self
    {
        Self(.reconciliationFailed, key: key, state: .halted, reasons: reasons, evidencePath: evidencePath)
    }

    public static func inProgress(_ key: RestorationKey, owner: String) -> Self {
        Self(.inProgress, key: key, detail: "owner \(owner)")
    }

    public static func alreadyRevoked(_ key: RestorationKey) -> Self {
        Self(.alreadyRevoked, key: key, state: .granted)
    }

    public static func evidenceFailed(_ key: RestorationKey, _ detail: String) -> Self {
        Self(.evidenceFailed, key: key, detail: detail)
    }

    public static func invalidInput(_ key: RestorationKey?, _ detail: String) -> Self {
        Self(.invalidInput, key: key, detail: detail)
    }

    public static func tooSoon(_ key: RestorationKey, waitSeconds: Int) -> Self {
        Self(.tooSoon, key: key, state: .halted, detail: "\(waitSeconds)")
    }

    public static func ledger(_ key: RestorationKey?, _ error: LedgerError) -> Self {
        Self(.ledger, key: key, state: error.state, ledgerCode: error.code, detail: error.detail)
    }

    /// The run after a committed resume failed; `cause` is what it threw (mapped as for `ledger`).
    public static func resumedButUnfinished(_ key: RestorationKey, epoch: Int64, cause: TakeoverError) -> Self {
        Self(
            .resumedButUnfinished, key: key, state: cause.state, ledgerCode: cause.ledgerCode, epoch: epoch,
            detail: cause.ledgerCode == nil ? cause.code.rawValue : cause.detail)
    }

    /// The run after a recover's claim failed; `cause` is what it threw (mapped as for `ledger`).
    public static func recoveredButUnfinished(_ key: RestorationKey, epoch: Int64, cause: TakeoverError) -> Self {
        Self(
            .recoveredButUnfinished, key: key, state: cause.state, ledgerCode: cause.ledgerCode, epoch: epoch,
            detail: cause.ledgerCode == nil ? cause.code.rawValue : cause.detail)
    }
}
