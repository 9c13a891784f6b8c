import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
public import Foundation
import BreakGlassEvidence

/// One row per restoration request key, for auditors (`breakglass report --per-request`): what was asked, who
/// approved (masked), what the gate and the rechecks saw, how it ended, and the evidence that proves it, with whether
/// that evidence verifies against the trusted key. Read from the ledger and the evidence store only; the
/// columns are documented in docs/REPORT.md ("Per-request export").
public struct AuditExport: Sendable, Hashable, Codable {
    public static let format = "breakglass.report.per-request/v1"

    public struct Row: Sendable, Hashable, Codable {
        public var caseID: String
        public var tenantID: String
        /// The ledger state (granted, halted, rejected, resolved, or an in-flight state).
        public var state: String
        /// The deciding request id, then every request id seen for the key (replays and copies), in order seen.
        public var requestID: String
        public var requestIDsSeen: [String]
        public var copiesSeen: Int
        /// From the stored request: privilege scopes and duration, approvals as `role:approval_id:approver` with the
        /// approver masked to its last 4 characters.
        public var scopes: [String]
        public var durationMinutes: Int?
        public var approvals: [String]
        /// The gate's live rechecks (the gate, then the pre-submit recheck; more after resumes).
        public var rechecks: Int
        public var lastRecheckAt: String?
        public var reasons: [String]
        /// The stage of the latest takeover record and whether it escalates (access may have been granted).
        public var stage: String?
        public var takeoverID: String?
        public var escalate: Bool
        public var inDoubt: Bool
        public var reconciled: Bool
        public var confirmationID: String?
        public var grantExpiresAt: String?
        public var revocation: String?
        public var revokedBy: String?
        public var revokedAt: String?
        public var resumes: Int
        /// Every evidence bundle announced for the key (`evidence-ready`), with its manifest digest.
        public var evidenceBundles: [String]
        public var evidenceDigests: [String]
        /// Every announced bundle exists, matches its digest and verifies against the trusted key (nil: none).
        public var evidenceVerified: Bool?
        public var createdAt: String
        public var submittingAt: String?
        public var decidedAt: String?

        enum CodingKeys: String, CodingKey {
            case caseID = "case_id", tenantID = "tenant_id", state, requestID = "request_id"
            case requestIDsSeen = "request_ids_seen", copiesSeen = "copies_seen", scopes
            case durationMinutes = "duration_minutes", approvals, rechecks, lastRecheckAt = "last_recheck_at", reasons
            case stage, takeoverID = "takeover_id", escalate, inDoubt = "in_doubt", reconciled
            case confirmationID = "confirmation_id", grantExpiresAt = "grant_expires_at", revocation
            case revokedBy = "revoked_by", revokedAt = "revoked_at", resumes
            case evidenceBundles = "evidence_bundles", evidenceDigests = "evidence_digests"
            case evidenceVerified = "evidence_verified", createdAt = "created_at", submittingAt = "submitting_at"
            case decidedAt = "decided_at"
        }
    }

    public var format: String
    public var generatedAt: String
    public var since: String?
    public var rows: [Row]

    enum CodingKeys: String, CodingKey {
        case format, generatedAt = "generated_at", since, rows
    }

    /// The column order of the CSV form (the JSON keys of a row).
    public static let columns = [
        "case_id", "tenant_id", "state", "request_id", "request_ids_seen", "copies_seen", "scopes", "duration_minutes",
        "approvals", "rechecks", "last_recheck_at", "reasons", "stage", "takeover_id", "escalate", "in_doubt",
        "reconciled", "confirmation_id", "grant_expires_at", "revocation", "revoked_by", "revoked_at", "resumes",
        "evidence_bundles", "evidence_digests", "evidence_verified", "created_at", "submitting_at", "decided_at",
    ]

    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data()) + Data("\n".utf8)
    }

    /// RFC 4180 CSV with a header line; lists joined with `;`.
    public func csv() -> String {
        func cell(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        func value(_ row: Row, _ column: String) -> String {
            switch column {
            case "case_id": row.caseID
            case "tenant_id": row.tenantID
            case "state": row.state
            case "request_id": row.requestID
            case "request_ids_seen": row.requestIDsSeen.joined(separator: ";")
            case "copies_seen": String(row.copiesSeen)
            case "scopes": row.scopes.joined(separator: ";")
            case "duration_minutes": row.durationMinutes.map(String.init) ?? ""
            case "approvals": row.approvals.joined(separator: ";")
            case "rechecks": String(row.rechecks)
            case "last_recheck_at": row.lastRecheckAt ?? ""
            case "reasons": row.reasons.joined(separator: ";")
            case "stage": row.stage ?? ""
            case "takeover_id": row.takeoverID ?? ""
            case "escalate": String(row.escalate)
            case "in_doubt": String(row.inDoubt)
            case "reconciled": String(row.reconciled)
            case "confirmation_id": row.confirmationID ?? ""
            case "grant_expires_at": row.grantExpiresAt ?? ""
            case "revocation": row.revocation ?? ""
            case "revoked_by": row.revokedBy ?? ""
            case "revoked_at": row.revokedAt ?? ""
            case "resumes": String(row.resumes)
            case "evidence_bundles": row.evidenceBundles.joined(separator: ";")
            case "evidence_digests": row.evidenceDigests.joined(separator: ";")
            case "evidence_verified": row.evidenceVerified.map(String.init) ?? ""
            case "created_at": row.createdAt
            case "submitting_at": row.submittingAt ?? ""
            case "decided_at": row.decidedAt ?? ""
            default: ""
            }
        }
        var lines = [Self.columns.joined(separator: ",")]
        for row in rows { lines.append(Self.columns.map { cell(value(row, $0)) }.joined(separator: ",")) }
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}

extension GovernanceReportSource {
    /// The per-request rows, oldest key first; only keys first seen at or after `since` when given.
    public func auditExport(since: Date? = nil, now: Date = Date()) async throws -> AuditExport {
        let verifier = EvidenceVerifier(trustedPublicKey: trustedPublicKey)
        let masker = Masker()
        var rows: [AuditExport.Row] = []
        let entries = try await ledger.entries(limit: Int.max).sorted {
            ($0.createdAt, $0.key.description) < ($1.createdAt, $1.key.description)
        }
        for entry in entries where since.map({ entry.createdAt >= $0 }) ?? true {
            let sightings = try await ledger.requestSightings(for: entry.key).sorted { $0.firstSeenAt < $1.firstSeenAt }
            let takeover = try await ledger.takeovers(for: entry.key, limit: 1).first
            let request = entry.payload.flatMap { try? RequestDecoder.decode(Array($0)) }
            var bundles: [String] = []
            var digests: [String] = []
            var verified: Bool?
            for row in try await ledger.events(for: entry.key)
            where row.message.routingKey == EventType.evidenceReady.rawValue {
                guard let ready = try? JSONDecoder().decode(ReadyEvent.self, from: row.message.body) else {
                    verified = false
                    continue
                }
                bundles.append(ready.data.bundleID)
                digests.append(ready.data.manifestSHA256)
                let directory = evidenceRoot.appendingPathComponent(ready.data.bundleID, isDirectory: true)
                let manifest = try? Data(contentsOf: directory.appendingPathComponent(EvidenceManifest.fileName))
                let check = verifier.verify(bundle: directory)
                let ok =
                    !ready.data.bundleID.contains("/")
                    && manifest.map { EvidenceStore.sha256Hex($0) } == ready.data.manifestSHA256
                    && check.isValid && check.authenticated
                verified = (verified ?? true) && ok
            }
            rows.append(
                AuditExport.Row(
                    caseID: entry.key.caseID, tenantID: entry.key.tenantID, state: entry.state.rawValue,
                    requestID: entry.requestID, requestIDsSeen: sightings.map(\.requestID),
                    copiesSeen: sightings.reduce(0) { $0 + $1.count },
                    scopes: request?.privilege.scopes ?? [], durationMinutes: request?.privilege.durationMinutes,
                    approvals: request?.approvals.map {
                        "\($0.role):\($0.approvalID):\(Masker.maskIdentifier($0.approverID))"
                    }
                        ?? entry.approvalRefs,
                    rechecks: entry.recheckTimes.count,
                    lastRecheckAt: entry.recheckTimes.last.map { Timestamp.format($0) },
                    reasons: entry.reasons.map(\.rawValue), stage: takeover?.record.stage.rawValue,
                    takeoverID: entry.takeoverID,
                    escalate: entry.escalate, inDoubt: entry.inDoubt, reconciled: entry.reconciled,
                    confirmationID: entry.confirmationID,
                    grantExpiresAt: entry.grantExpiresAt.map { Timestamp.format($0) },
                    revocation: entry.revocation?.rawValue, revokedBy: entry.revokedBy.map { masker.mask($0) },
                    revokedAt: entry.revokedAt.map { Timestamp.format($0) }, resumes: entry.resumeCount,
                    evidenceBundles: bundles, evidenceDigests: digests, evidenceVerified: verified,
                    createdAt: Timestamp.format(entry.createdAt),
                    submittingAt: entry.submittingAt.map { Timestamp.format($0) },
                    decidedAt: entry.decidedAt.map { Timestamp.format($0) }))
        }
        return AuditExport(
            format: AuditExport.format, generatedAt: Timestamp.format(now), since: since.map { Timestamp.format($0) },
            rows: rows)
    }

    struct ReadyEvent: Decodable {
        struct Payload: Decodable {
            let bundleID: String
            let manifestSHA256: String
            enum CodingKeys: String, CodingKey { case bundleID = "bundle_id", manifestSHA256 = "manifest_sha256" }
        }
        let data: Payload
    }
}
