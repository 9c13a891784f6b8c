import BreakGlassCore
import BreakGlassLedger
import Foundation

/// The figures break-glass is judged by (issue 10), computed from ledger rows and evidence facts by a pure
/// function (`compute`). Its JSON form (`format` = `breakglass.report/v1`) is stable and documented in
/// docs/REPORT.md: fields are only ever added.
public struct GovernanceReport: Sendable, Hashable, Codable {
    public static let format = "breakglass.report/v1"

    public var format: String
    public var generatedAt: String
    /// Requests first seen at or after this instant (all when absent).
    public var since: String?
    public var requests: Requests
    public var grants: Grants
    public var anomaliesBeforeSubmission: Anomalies
    public var rejections: Rejections
    public var halts: Halts
    public var evidence: Evidence
    public var recheckToSubmitMs: Window
    public var escalations: Escalations

    public struct Requests: Sendable, Hashable, Codable {
        public var total: Int
        /// By ledger state: granted, halted, rejected, resolved, in_flight (claimed, gate-passed, submitting), received.
        public var byOutcome: [String: Int]
        /// Request ids seen beyond the first per key (replays or republications under a new `request_id`); none ran.
        public var replaysSuppressed: Int
        /// Every sighting of a request id for these keys (deliveries, redeliveries, a waiting worker's re-checks).
        public var sightings: Int
        /// Keys a person resumed at least once, and resumes in all.
        public var resumedKeys: Int
        public var resumes: Int
    }

    public struct Grants: Sendable, Hashable, Codable {
        public var total: Int
        /// Without over-privilege, without a duplicate and without a later revocation.
        public var clean: Int
        public var cleanRate: Double?
        /// Keys whose grant expires later than the requested duration allows (see `overPrivilegeBasis`).
        public var overPrivileged: [String]
        /// Keys whose over-privilege could not be judged (the stored original request is missing or unreadable);
        /// never counted as clean.
        public var overPrivilegeUnknown: [String]
        /// What `over_privileged` checks, said plainly: the expiry against the request's duration. The scopes are NOT
        /// checked: the grant evidence records the request's own scopes, not scopes read back from the console.
        public var overPrivilegeBasis: String
        public var duplicates: [String]
        /// Revocation recorded as `revoked`.
        public var revoked: [String]
        /// Revocation tried and not confirmed (`failed`): access may still be active.
        public var revocationFailed: [String]
        /// Granted by an in-doubt reconciliation (the console showed the grant) rather than a confirmation page.
        public var byReconciliation: Int
    }

    public struct Anomalies: Sendable, Hashable, Codable {
        /// Halts before the final click (stage gate, console or pre-submit; never escalated).
        public var total: Int
        /// Each reason code counted once per halt.
        public var byReason: [String: Int]
        /// Each halt counted once per category it touches; see `Category`.
        public var byCategory: [String: Int]
    }

    public struct Rejections: Sendable, Hashable, Codable {
        /// Rejected messages: those whose key was read, and those rejected before it could be (`without_key`).
        public var total: Int
        public var withoutKey: Int
        /// Of those, messages rejected while their key was already held or decided (a replay past its
        /// `not_after`, for instance): the ledger row is not `rejected`, only the `outcome` event in the outbox says
        /// so (counted until `ledger prune` removes published events).
        public var onBusyKey: Int
        public var byReason: [String: Int]
    }

    public struct Halts: Sendable, Hashable, Codable {
        /// Every halt (takeover record), including those later resumed or resolved.
        public var total: Int
        public var complete: Int
        public var completeRate: Double?
        /// Takeover ids of incomplete records.
        public var incomplete: [String]
        public var open: Int
        public var resumed: Int
        public var resolved: Int
    }

    public struct Evidence: Sendable, Hashable, Codable {
        /// Grants whose evidence was looked for.
        public var grantsChecked: Int
        public var verified: Int
        public var verifiedRate: Double?
        public var failures: [Failure]
        /// `evidence-ready` events of the outbox that the evidence store does not back (issue 16.3): no bundle under
        /// the announced `bundle_id`, another manifest hash, or a `location` that is not that bundle's directory.
        public var mismatches: [Mismatch]

        /// One `evidence-ready` event the store contradicts.
        public struct Mismatch: Sendable, Hashable, Codable {
            public var key: String
            public var bundleID: String
            public var problem: String

            public init(key: String, bundleID: String, problem: String) {
                self.key = key
                self.bundleID = bundleID
                self.problem = problem
            }

            enum CodingKeys: String, CodingKey {
                case key, bundleID = "bundle_id", problem
            }
        }

        public struct Failure: Sendable, Hashable, Codable {
            public var key: String
            public var bundleID: String?
            public var problems: [String]

            public init(key: String, bundleID: String?, problems: [String]) {
                self.key = key
                self.bundleID = bundleID
                self.problems = problems
            }

            enum CodingKeys: String, CodingKey {
                case key, bundleID = "bundle_id", problems
            }
        }
    }

    public struct Window: Sendable, Hashable, Codable {
        public var samples: Int
        public var p50: Double?
        public var p95: Double?
        public var max: Double?
    }

    public struct Escalations: Sendable, Hashable, Codable {
        /// Halts where access may have been granted (at or after the final click).
        public var total: Int
        /// Of those, still waiting for a person.
        public var open: Int
        public var takeoverIDs: [String]
    }

    enum CodingKeys: String, CodingKey {
        case format, generatedAt = "generated_at", since, requests, grants
        case anomaliesBeforeSubmission = "anomalies_before_submission", rejections, halts, evidence
        case recheckToSubmitMs = "recheck_to_submit_ms", escalations
    }
}

extension GovernanceReport.Requests {
    enum CodingKeys: String, CodingKey {
        case total, byOutcome = "by_outcome", replaysSuppressed = "replays_suppressed", sightings
        case resumedKeys = "resumed_keys", resumes
    }
}

extension GovernanceReport.Grants {
    enum CodingKeys: String, CodingKey {
        case total, clean, cleanRate = "clean_rate", overPrivileged = "over_privileged"
        case overPrivilegeUnknown = "over_privilege_unknown", overPrivilegeBasis = "over_privilege_basis", duplicates,
            revoked
        case revocationFailed = "revocation_failed", byReconciliation = "by_reconciliation"
    }
}

extension GovernanceReport.Anomalies {
    enum CodingKeys: String, CodingKey {
        case total, byReason = "by_reason", byCategory = "by_category"
    }
}

extension GovernanceReport.Rejections {
    enum CodingKeys: String, CodingKey {
        case total, withoutKey = "without_key", onBusyKey = "on_busy_key", byReason = "by_reason"
    }
}

extension GovernanceReport.Halts {
    enum CodingKeys: String, CodingKey {
        case total, complete, completeRate = "complete_rate", incomplete, open, resumed, resolved
    }
}

extension GovernanceReport.Evidence {
    enum CodingKeys: String, CodingKey {
        case grantsChecked = "grants_checked", verified, verifiedRate = "verified_rate", failures, mismatches
    }

    /// Reads reports written before `mismatches` existed too (it is then empty).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            grantsChecked: try c.decode(Int.self, forKey: .grantsChecked),
            verified: try c.decode(Int.self, forKey: .verified),
            verifiedRate: try c.decodeIfPresent(Double.self, forKey: .verifiedRate),
            failures: try c.decode([Failure].self, forKey: .failures),
            mismatches: try c.decodeIfPresent([Mismatch].self, forKey: .mismatches) ?? [])
    }
}

extension GovernanceReport.Escalations {
    enum CodingKeys: String, CodingKey {
        case total, open, takeoverIDs = "takeover_ids"
    }
}
