public import BreakGlassCore
public import BreakGlassLedger
public import Foundation

extension GovernanceReport {
    /// What the report is computed from: ledger rows and takeovers, and what the evidence store says per grant.
    public struct Input: Sendable {
        public var entries: [LedgerEntry]
        public var takeovers: [TakeoverEntry]
        /// The ledger's request sightings per key.
        public var sightings: [RestorationKey: Sightings]
        /// Rejections of messages whose key could not be read (signature, schema): their reason codes and time,
        /// from the outbox's `outcome` events under `unknown/unknown` (until the outbox is pruned).
        public var keylessRejections: [KeylessRejection]
        /// Rejections of messages whose key was read while the key was already held or decided (the ledger row is
        /// not `rejected`): their `outcome` events in the outbox (until it is pruned).
        public var busyKeyRejections: [KeylessRejection]
        /// The evidence bundles whose outcome is a grant (`granted`, `granted-by-reconciliation`), per key.
        public var grantBundles: [RestorationKey: [GrantBundle]]
        /// `evidence-ready` events the evidence store contradicts (see `Evidence.mismatches`).
        public var evidenceMismatches: [Evidence.Mismatch]
        public var since: Date?
        public var generatedAt: Date

        public init(
            entries: [LedgerEntry], takeovers: [TakeoverEntry], sightings: [RestorationKey: Sightings] = [:],
            keylessRejections: [KeylessRejection] = [], busyKeyRejections: [KeylessRejection] = [],
            grantBundles: [RestorationKey: [GrantBundle]] = [:], evidenceMismatches: [Evidence.Mismatch] = [],
            since: Date? = nil, generatedAt: Date
        ) {
            self.evidenceMismatches = evidenceMismatches
            self.keylessRejections = keylessRejections
            self.busyKeyRejections = busyKeyRejections
            self.entries = entries
            self.takeovers = takeovers
            self.sightings = sightings
            self.grantBundles = grantBundles
            self.since = since
            self.generatedAt = generatedAt
        }
    }

    /// The request ids seen for one key.
    public struct Sightings: Sendable, Hashable {
        /// Distinct request ids.
        public var requestIDs: Int
        /// Every sighting (the ledger counts each delivery or re-check of a request id).
        public var count: Int

        public init(requestIDs: Int, count: Int) {
            self.requestIDs = requestIDs
            self.count = count
        }
    }

    /// A rejected message known only from its `outcome` event: rejected before its key could be read, or while
    /// its key was held or decided.
    public struct KeylessRejection: Sendable, Hashable {
        public var reasons: [ReasonCode]
        public var at: Date

        public init(reasons: [ReasonCode], at: Date) {
            self.reasons = reasons
            self.at = at
        }
    }

    /// One grant evidence bundle as the evidence store and its verifier saw it.
    public struct GrantBundle: Sendable, Hashable {
        public var bundleID: String
        /// The seal and every artifact hash verified (with the trusted key when one was given).
        public var verified: Bool
        public var problems: [String]
        /// From `grant.json`.
        public var confirmationID: String?
        public var scopes: [String]?
        /// From `timing.json` (`recheck_to_click_ms`).
        public var recheckToClickMs: Double?

        public init(
            bundleID: String, verified: Bool, problems: [String] = [], confirmationID: String?, scopes: [String]?,
            recheckToClickMs: Double?
        ) {
            self.bundleID = bundleID
            self.verified = verified
            self.problems = problems
            self.confirmationID = confirmationID
            self.scopes = scopes
            self.recheckToClickMs = recheckToClickMs
        }
    }

    /// The anomaly categories of `anomalies_before_submission.by_category`.
    public enum Category: String, Sendable, CaseIterable {
        case staleOrRevokedApproval = "stale_or_revoked_approval"
        case tenantMismatch = "tenant_mismatch"
        case scopeDrift = "scope_drift"
        case consoleDrift = "console_drift"
        case existingSession = "existing_session"
        case other

        public static func of(_ code: ReasonCode) -> Category {
            switch code {
            case .approvalStale, .approvalRevoked, .approvalExpired, .approvalPending, .approvalMissing,
                .approvalMismatch:
                .staleOrRevokedApproval
            case .tenantMismatch, .consoleTenantMismatch: .tenantMismatch
            case .scopeExceedsApproval, .consoleScopeDrift: .scopeDrift
            case .consoleUnexpectedScreen, .consoleExpiryControlMissing: .consoleDrift
            case .existingSession, .consoleExistingSession: .existingSession
            default: .other
            }
        }
    }

    /// A grant whose expiry is later than its requested duration after the submission by more than this is
    /// over-privileged (console and worker clocks differ a little). 120 s.
    public static let expiryTolerance: TimeInterval = 120

    /// The figures, from `input` alone (no I/O).
    public static func compute(_ input: Input) -> GovernanceReport {
        let entries = input.entries.filter { entry in input.since.map { entry.createdAt >= $0 } ?? true }
            .sorted { $0.key < $1.key }
        let keys = Set(entries.map(\.key))
        let takeovers = input.takeovers.filter { keys.contains($0.key) }.sorted { $0.id < $1.id }

        // Requests.
        var byOutcome: [String: Int] = [:]
        for entry in entries {
            let name = entry.state.isInFlight ? "in_flight" : entry.state.rawValue
            byOutcome[name, default: 0] += 1
        }
        let replays = entries.reduce(0) { $0 + max(0, (input.sightings[$1.key]?.requestIDs ?? 1) - 1) }
        let sightings = entries.reduce(0) { $0 + (input.sightings[$1.key]?.count ?? 0) }
        let requests = Requests(
            total: entries.count, byOutcome: byOutcome, replaysSuppressed: replays, sightings: sightings,
            resumedKeys: entries.filter { $0.resumeCount > 0 }.count, resumes: entries.reduce(0) { $0 + $1.resumeCount }
        )

        // Grants and their evidence.
        let granted = entries.filter { $0.state == .granted }
        var overPrivileged: [String] = []
        var overPrivilegeUnknown: [String] = []
        var duplicateGrants: [String] = []
        var clean = 0
        var failures: [Evidence.Failure] = []
        var windows: [Double] = []
        for entry in granted {
            let bundles = input.grantBundles[entry.key] ?? []
            let bundle =
                bundles.first { $0.confirmationID != nil && $0.confirmationID == entry.confirmationID }
                ?? bundles.last
            let over = isOverPrivileged(entry, bundle: bundle)
            let confirmations = Set(bundles.compactMap(\.confirmationID) + [entry.confirmationID].compactMap { $0 })
            let duplicate = confirmations.count > 1
            switch over {
            case true?: overPrivileged.append(entry.key.description)
            case nil: overPrivilegeUnknown.append(entry.key.description)
            case false?: break
            }
            if duplicate { duplicateGrants.append(entry.key.description) }
            if over == false && !duplicate && entry.revocation == nil { clean += 1 }
            if let bundle {
                if !bundle.verified {
                    failures.append(
                        .init(
                            key: entry.key.description, bundleID: bundle.bundleID,
                            problems: bundle.problems.isEmpty ? ["not verified"] : bundle.problems))
                }
            } else {
                failures.append(
                    .init(key: entry.key.description, bundleID: nil, problems: ["no grant evidence bundle"]))
            }
            if let window = bundle?.recheckToClickMs ?? ledgerWindow(entry) { windows.append(window) }
        }
        let grants = Grants(
            total: granted.count, clean: clean, cleanRate: rate(clean, granted.count), overPrivileged: overPrivileged,
            overPrivilegeUnknown: overPrivilegeUnknown, overPrivilegeBasis: overPrivilegeBasis,
            duplicates: duplicateGrants,
            revoked: granted.filter { $0.revocation == .revoked }.map(\.key.description),
            revocationFailed: granted.filter { $0.revocation == .failed }.map(\.key.description),
            byReconciliation: granted.filter(\.reconciled).count)
        let evidence = Evidence(
            grantsChecked: granted.count, verified: granted.count - failures.count,
            verifiedRate: rate(granted.count - failures.count, granted.count), failures: failures,
            mismatches: input.evidenceMismatches)

        // Halts.
        var byReason: [String: Int] = [:]
        var byCategory: [String: Int] = [:]
        var caught = 0
        var incomplete: [String] = []
        for takeover in takeovers {
            let record = takeover.record
            if !isComplete(record) { incomplete.append(takeover.id) }
            guard !record.escalate, [.gate, .console, .preSubmit].contains(record.stage) else { continue }
            caught += 1
            for code in Set(record.reasons) { byReason[code.rawValue, default: 0] += 1 }
            for category in Set(record.reasons.map(Category.of)) { byCategory[category.rawValue, default: 0] += 1 }
        }
        let halts = Halts(
            total: takeovers.count, complete: takeovers.count - incomplete.count,
            completeRate: rate(takeovers.count - incomplete.count, takeovers.count), incomplete: incomplete,
            open: takeovers.filter { $0.resolution == nil }.count,
            resumed: takeovers.filter { $0.resolution == .resumed }.count,
            resolved: takeovers.filter { $0.resolution == .resolved }.count)
        let escalated = takeovers.filter(\.record.escalate)

        // Rejections.
        var rejectedReasons: [String: Int] = [:]
        let rejected = entries.filter { $0.state == .rejected }
        for entry in rejected {
            for code in Set(entry.reasons) { rejectedReasons[code.rawValue, default: 0] += 1 }
        }
        let keyless = input.keylessRejections.filter { rejection in input.since.map { rejection.at >= $0 } ?? true }
        for rejection in keyless {
            for code in Set(rejection.reasons) { rejectedReasons[code.rawValue, default: 0] += 1 }
        }
        let busy = input.busyKeyRejections.filter { rejection in input.since.map { rejection.at >= $0 } ?? true }
        for rejection in busy {
            for code in Set(rejection.reasons) { rejectedReasons[code.rawValue, default: 0] += 1 }
        }

        return GovernanceReport(
            format: format, generatedAt: Timestamp.format(input.generatedAt),
            since: input.since.map { Timestamp.format($0) },
            requests: requests, grants: grants,
            anomaliesBeforeSubmission: Anomalies(total: caught, byReason: byReason, byCategory: byCategory),
            rejections: Rejections(
                total: rejected.count + keyless.count + busy.count, withoutKey: keyless.count,
                onBusyKey: busy.count, byReason: rejectedReasons),
            halts: halts, evidence: evidence,
            recheckToSubmitMs: window(windows),
            escalations: Escalations(
                total: escalated.count, open: escalated.filter { $0.resolution == nil }.count,
                takeoverIDs: escalated.map(\.id)))
    }

    /// What a person taking over needs: the reasons, the approvals involved, a note, and for a halt in the
    /// console the screen it stopped on.
    public static func isComplete(_ record: TakeoverRecord) -> Bool {
        guard !record.reasons.isEmpty, !record.approvalRefs.isEmpty, !(record.note ?? "").isEmpty else { return false }
        return record.stage == .gate || record.screen != nil
    }

    /// `grants.over_privilege_basis`: what the over-privilege check can see.
    public static let overPrivilegeBasis =
        "expiry checked against the request's duration; scopes not checked (the grant evidence records the request's scopes, not the console's)"

    /// An expiry later than the original request's duration allows (after `submitting`, + `expiryTolerance`).
    /// `nil` (unknown) when the stored original request is missing or unreadable: never reported as "not
    /// over-privileged" then.
    ///
    /// The scopes are not compared: `grant.json` holds the request's own scopes (the driver writes
    /// `request.privilege.scopes` there), so comparing them with the request could never find anything. The console
    /// flow itself halts with CONSOLE_SCOPE_DRIFT before the click unless exactly the approved scopes are checked.
    static func isOverPrivileged(_ entry: LedgerEntry, bundle: GrantBundle?) -> Bool? {
        guard let payload = entry.payload, let request = try? RequestDecoder.decode(Array(payload)) else { return nil }
        if let expires = entry.grantExpiresAt, let submitted = entry.submittingAt ?? entry.decidedAt {
            let allowed = submitted.addingTimeInterval(
                TimeInterval(request.privilege.durationMinutes * 60) + expiryTolerance)
            if expires > allowed { return true }
        }
        return false
    }

    /// The ledger's view of the window: the last recheck before `submitting` to `submitting` (a lower bound of
    /// recheck → click), for grants without a timing document.
    static func ledgerWindow(_ entry: LedgerEntry) -> Double? {
        guard let submitted = entry.submittingAt, let recheck = entry.recheckTimes.filter({ $0 <= submitted }).max()
        else {
            return nil
        }
        return (submitted.timeIntervalSince(recheck) * 1000).rounded()
    }

    static func rate(_ part: Int, _ whole: Int) -> Double? {
        whole == 0 ? nil : (Double(part) / Double(whole) * 10_000).rounded() / 10_000
    }

    /// Nearest-rank percentiles.
    static func window(_ samples: [Double]) -> Window {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(sorted.count - 1, max(0, rank - 1))]
        }
        return Window(samples: sorted.count, p50: percentile(50), p95: percentile(95), max: sorted.last)
    }
}
