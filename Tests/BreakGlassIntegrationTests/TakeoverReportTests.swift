import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Synchronization
import Testing
import BreakGlassEvidence

/// `breakglass report`'s figures against a scripted mix of outcomes written through the real ledger (a SQLite
/// file) and the real evidence store: every figure is known in advance and must come out exactly.
@Suite("Governance report (ledger file + evidence store)")
struct TakeoverReportTests {
    final class ManualClock: Sendable {
        let date: Mutex<Date>
        init(_ date: Date) { self.date = Mutex(date) }
        var now: Date { date.withLock { $0 } }
        func set(_ value: Date) { date.withLock { $0 = value } }
        func advance(_ seconds: TimeInterval) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    /// A world of one ledger file and one evidence store under a manual clock.
    struct World {
        let ledger: SQLiteLedger
        let store: EvidenceStore
        let key: EvidenceKey
        let clock: ManualClock
        let refs = ["APR-1", "APR-2", "APR-3"]

        static func key(_ n: Int) -> RestorationKey {
            RestorationKey(caseID: String(format: "CASE-R%02d", n), tenantID: "tnt-4f9a2c")
        }

        static func body(_ key: RestorationKey, requestID: String) -> Data {
            Data(
                """
                {"schema":"breakglass.restoration.approved/v1","request_id":"\(requestID)","case_id":"\(key.caseID)",\
                "tenant":{"id":"\(key.tenantID)","name":"Acme Corp"},"incident":{"id":"INC-5521"},\
                "requester":{"admin_id":"adm-7781","identity_assurance_ref":"IDV-9912"},\
                "privilege":{"role":"tenant-admin","scopes":["admins.restore","users.reset-mfa"],"duration_minutes":120},\
                "approvals":[{"role":"incident-command","approval_id":"APR-1","approver_id":"u-ic-12"},\
                {"role":"security","approval_id":"APR-2","approver_id":"u-sec-3"},\
                {"role":"customer-account-authority","approval_id":"APR-3","approver_id":"c-ceo-1"}],\
                "packet":{"id":"PKT-77","sha256":"23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"},\
                "enqueued_at":"2026-11-25T18:20:00Z","not_after":"2099-11-25T19:20:00Z"}
                """.utf8)
        }

        func claim(_ key: RestorationKey, requestID: String? = nil) async throws -> Claim {
            let id = requestID ?? "REQ-\(key.caseID)"
            let outcome = try await ledger.claim(
                key, requestID: id, owner: "worker-r", payload: Self.body(key, requestID: id))
            return try #require(outcome.claim)
        }

        /// claim → gate → submitting (the last recheck `recheckAgo` s before it) → granted.
        @discardableResult
        func grant(
            _ key: RestorationKey, confirmation: String, recheckAgo: TimeInterval = 0.05,
            expiresIn: TimeInterval = 7200, reconciled: Bool = false, claim existing: Claim? = nil
        ) async throws -> Claim {
            var claim: Claim
            if let existing { claim = existing } else { claim = try await self.claim(key) }
            clock.advance(2)
            claim = try await ledger.passGate(claim, approvalRefs: refs, checkedAt: clock.now.addingTimeInterval(-1))
            clock.advance(2)
            claim = try await ledger.beginSubmitting(claim, recheckedAt: clock.now.addingTimeInterval(-recheckAgo))
            try await ledger.decide(
                claim,
                .granted(
                    confirmationID: confirmation, expiresAt: clock.now.addingTimeInterval(expiresIn),
                    reconciled: reconciled))
            return claim
        }

        func halt(_ key: RestorationKey, _ record: TakeoverRecord) async throws {
            var claim = try await self.claim(key)
            if record.stage == .postSubmit {
                claim = try await ledger.passGate(claim, approvalRefs: refs, checkedAt: clock.now)
                claim = try await ledger.beginSubmitting(claim, recheckedAt: clock.now)
            }
            try await ledger.decide(claim, .halted(record))
        }

        /// A sealed grant bundle as the console driver writes one.
        @discardableResult
        func bundle(
            _ key: RestorationKey, confirmation: String, scopes: [String] = ["admins.restore", "users.reset-mfa"],
            recheckToClickMs: Int?, reconciled: Bool = false
        ) throws -> EvidenceLocation {
            var recorder = EvidenceRecorder(
                caseID: key.caseID, tenantID: key.tenantID, requestID: "REQ-\(key.caseID)",
                workerID: "worker-r", masker: Masker())
            recorder.document(
                "grant.json",
                ConsoleGrant(
                    confirmationID: confirmation, status: "active", expiresAt: nil,
                    scopes: scopes, byReconciliation: reconciled, verifiedInIAM: true))
            if let recheckToClickMs {
                let start = Date()
                recorder.mark("recheck_finished", at: start)
                recorder.mark("click", at: start.addingTimeInterval(Double(recheckToClickMs) / 1000))
            }
            return try store.write(
                recorder.bundle(
                    kind: reconciled ? "reconciliation" : "grant",
                    outcome: reconciled ? "granted-by-reconciliation" : "granted", reasons: []))
        }
    }

    static func record(
        _ reasons: [ReasonCode], _ stage: TakeoverRecord.Stage, escalate: Bool = false, screen: String? = nil,
        note: String? = "what happened and what to check"
    ) -> TakeoverRecord {
        TakeoverRecord(
            reasons: reasons, stage: stage, escalate: escalate, screen: screen,
            approvalRefs: ["APR-1", "APR-2", "APR-3"],
            note: note)
    }

    /// Issue 16.3: the report cross-checks the outbox's evidence-ready events against the evidence store.
    @Test("evidence-ready events the store contradicts are listed: missing bundle, other manifest hash, other location")
    func evidenceReadyCrossCheck() async throws {
        let dir = try TestEnvironment.scratchDirectory("report-crosscheck")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_795_000_000))
        var configuration = SQLiteLedger.Configuration(path: dir.appendingPathComponent("ledger.sqlite").path)
        configuration.clock = { clock.now }
        let ledger = try SQLiteLedger(configuration: configuration)
        let evidenceKey = EvidenceKey.generate(keyID: "report-it").key
        let store = try EvidenceStore(root: dir.appendingPathComponent("evidence"), key: evidenceKey)
        let w = World(ledger: ledger, store: store, key: evidenceKey, clock: clock)
        let factory = EventFactory(source: "urn:test")
        func ready(_ key: RestorationKey, bundleID: String, sha: String, location: String) -> OutboxMessage {
            OutboxMessage(
                factory.evidenceReady(
                    key: key, requestID: "REQ-\(key.caseID)", bundleID: bundleID, manifestSHA256: sha,
                    location: location, artifacts: 3, time: clock.now), key: key)
        }
        var events: [OutboxMessage] = []
        for n in 1...4 {
            let key = World.key(n)
            try await w.grant(key, confirmation: "BG-\(n)")
            let location = try w.bundle(key, confirmation: "BG-\(n)", recheckToClickMs: 100)
            switch n {
            case 1:
                events.append(
                    ready(key, bundleID: location.bundleID, sha: location.manifestSHA256, location: location.path))
            case 2:
                events.append(
                    ready(
                        key, bundleID: "CASE-R02_tnt-4f9a2c_20990101T000000000Z_000000", sha: location.manifestSHA256,
                        location: location.path))
            case 3:
                events.append(
                    ready(
                        key, bundleID: location.bundleID, sha: String(repeating: "0", count: 64),
                        location: location.path))
            default:
                events.append(
                    ready(
                        key, bundleID: location.bundleID, sha: location.manifestSHA256,
                        location: "/elsewhere/other-bundle"))
            }
        }
        try await ledger.enqueueEvents(events)
        let source = GovernanceReportSource(
            ledger: ledger, evidenceRoot: store.root, trustedPublicKey: evidenceKey.publicKeyRaw)
        let report = GovernanceReport.compute(try await source.input(now: clock.now))
        let found = report.evidence.mismatches.map { "\($0.key): \($0.problem)" }.sorted()
        #expect(
            found == [
                "CASE-R02/tnt-4f9a2c: no bundle in the evidence store under the announced bundle_id",
                "CASE-R03/tnt-4f9a2c: manifest.json differs from the announced manifest_sha256",
                "CASE-R04/tnt-4f9a2c: location does not name the bundle's directory",
            ], "\(found)")
        #expect(report.table().contains("evidence-ready vs store       3 mismatch(es)"))
    }

    @Test("the figures of a scripted mix of outcomes come out exactly")
    func scriptedMix() async throws {
        let dir = try TestEnvironment.scratchDirectory("report")
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        let clock = ManualClock(t0.addingTimeInterval(-86_400))
        var configuration = SQLiteLedger.Configuration(path: dir.appendingPathComponent("ledger.sqlite").path)
        configuration.clock = { clock.now }
        let ledger = try SQLiteLedger(configuration: configuration)
        let evidenceKey = EvidenceKey.generate(keyID: "report-it").key
        let store = try EvidenceStore(root: dir.appendingPathComponent("evidence"), key: evidenceKey)
        let w = World(ledger: ledger, store: store, key: evidenceKey, clock: clock)
        let k = World.key

        // Before --since: not counted.
        _ = try await ledger.reject(k(0), requestID: "REQ-R00", reasons: [.schemaInvalid])
        clock.set(t0)

        // Grants.
        try await w.grant(k(1), confirmation: "BG-1")  // clean
        try w.bundle(k(1), confirmation: "BG-1", recheckToClickMs: 100)
        _ = try await ledger.claim(k(1), requestID: "REQ-R01-REPLAY", owner: "worker-r")  // a replay, suppressed
        try await w.grant(k(2), confirmation: "BG-2")  // clean, evidence tampered
        let tampered = try w.bundle(k(2), confirmation: "BG-2", recheckToClickMs: 200)
        let steps = try FileHandle(
            forWritingTo: URL(fileURLWithPath: tampered.path).appendingPathComponent("steps.jsonl"))
        try steps.seekToEnd()
        try steps.write(contentsOf: Data("{\"edited\":true}\n".utf8))
        try steps.close()
        // Then revoked.
        try await w.grant(k(3), confirmation: "BG-3", recheckAgo: 0.3, expiresIn: 7200, reconciled: true)
        try w.bundle(k(3), confirmation: "BG-3", recheckToClickMs: nil, reconciled: true)
        try await ledger.recordRevocation(k(3), result: .revoked, by: "sec-lead-1", reason: "done early")
        // grant.json records the request's own scopes (the driver writes them), so the report does not compare
        // scopes (docs/REPORT.md): a bundle saying otherwise does not make the grant over-privileged.
        try await w.grant(k(4), confirmation: "BG-4", recheckAgo: 0.4)
        try w.bundle(
            k(4), confirmation: "BG-4", scopes: ["admins.restore", "users.reset-mfa", "tenant.owner"],
            recheckToClickMs: nil)
        try await w.grant(k(5), confirmation: "BG-5", recheckAgo: 0.5, expiresIn: 10 * 3600)  // too long, and no bundle
        try await w.grant(k(6), confirmation: "BG-6")  // two grants seen for one key
        try w.bundle(k(6), confirmation: "BG-6", recheckToClickMs: 600)
        try w.bundle(k(6), confirmation: "BG-6B", recheckToClickMs: 650)

        // Halts.
        try await w.halt(k(7), Self.record([.approvalStale, .approvalRevoked], .gate))
        try await w.halt(k(8), Self.record([.consoleScopeDrift], .console, screen: "scope"))
        try await ledger.resolve(k(8), by: "support-lead-2", note: "closed: new request filed")
        try await w.halt(
            k(9), Self.record([.confirmationAmbiguous], .postSubmit, escalate: true, screen: "confirmation"))
        try await w.halt(k(10), Self.record([.existingSession], .gate))
        let resumed = try await ledger.resume(k(10), by: "sec-lead-1", note: "old session ended", owner: "takeover-r")
        try await w.grant(k(10), confirmation: "BG-10", claim: resumed)
        try w.bundle(k(10), confirmation: "BG-10", recheckToClickMs: 700)
        try await w.halt(k(11), Self.record([.tenantMismatch], .gate, note: nil))  // incomplete record
        try await w.halt(
            k(12), Self.record([.consoleTenantMismatch, .consoleUnexpectedScreen], .console, screen: "tenant-verify"))

        // Rejections and one in flight.
        _ = try await ledger.reject(k(13), requestID: "REQ-R13", reasons: [.requestExpired])
        _ = try await ledger.reject(k(14), requestID: "REQ-R14", reasons: [.deliveryLimit])
        _ = try await w.claim(k(15))
        // A forged message: rejected before its key could be read (only its outcome event says so).
        let forged = EventFactory(source: "urn:test").rejected(
            key: nil, requestID: nil, bodySHA256: String(repeating: "ab", count: 32),
            reasons: [.signatureInvalid], time: clock.now)
        try await ledger.enqueueEvents([
            OutboxMessage(forged, key: RestorationKey(caseID: "unknown", tenantID: "unknown"))
        ])

        let source = GovernanceReportSource(
            ledger: ledger, evidenceRoot: store.root, trustedPublicKey: evidenceKey.publicKeyRaw)
        let report = GovernanceReport.compute(try await source.input(since: t0, now: t0.addingTimeInterval(3600)))

        #expect(report.format == "breakglass.report/v1")
        #expect(report.requests.total == 15)
        #expect(report.requests.byOutcome == ["granted": 7, "halted": 4, "resolved": 1, "rejected": 2, "in_flight": 1])
        #expect(report.requests.replaysSuppressed == 1)
        #expect(report.requests.sightings == 16)
        #expect(report.requests.resumedKeys == 1)
        #expect(report.requests.resumes == 1)

        #expect(report.grants.total == 7)
        #expect(report.grants.clean == 4)
        #expect(report.grants.cleanRate == 0.5714)
        #expect(report.grants.overPrivileged == [k(5).description])
        #expect(report.grants.overPrivilegeUnknown == [])
        #expect(report.grants.overPrivilegeBasis == GovernanceReport.overPrivilegeBasis)
        #expect(report.grants.duplicates == [k(6).description])
        #expect(report.grants.revoked == [k(3).description])
        #expect(report.grants.revocationFailed == [])
        #expect(report.grants.byReconciliation == 1)

        #expect(report.anomaliesBeforeSubmission.total == 5)
        #expect(
            report.anomaliesBeforeSubmission.byReason == [
                "APPROVAL_STALE": 1, "APPROVAL_REVOKED": 1, "CONSOLE_SCOPE_DRIFT": 1, "EXISTING_SESSION": 1,
                "TENANT_MISMATCH": 1,
                "CONSOLE_TENANT_MISMATCH": 1, "CONSOLE_UNEXPECTED_SCREEN": 1,
            ])
        #expect(
            report.anomaliesBeforeSubmission.byCategory == [
                "stale_or_revoked_approval": 1, "scope_drift": 1, "existing_session": 1, "tenant_mismatch": 2,
                "console_drift": 1,
            ])
        #expect(report.rejections.total == 3)
        #expect(report.rejections.withoutKey == 1)
        #expect(report.rejections.byReason == ["REQUEST_EXPIRED": 1, "DELIVERY_LIMIT": 1, "SIGNATURE_INVALID": 1])

        #expect(report.halts.total == 6)
        #expect(report.halts.complete == 5)
        #expect(report.halts.completeRate == 0.8333)
        #expect(report.halts.incomplete == ["\(k(11))#1"])
        #expect(report.halts.open == 4)
        #expect(report.halts.resumed == 1)
        #expect(report.halts.resolved == 1)

        #expect(report.evidence.grantsChecked == 7)
        #expect(report.evidence.verified == 5)
        #expect(report.evidence.verifiedRate == 0.7143)
        #expect(report.evidence.failures.map(\.key) == [k(2).description, k(5).description])
        #expect(report.evidence.failures.first?.bundleID == tampered.bundleID)
        #expect(report.evidence.failures.first?.problems.isEmpty == false)
        #expect(report.evidence.failures.last?.problems == ["no grant evidence bundle"])

        #expect(report.recheckToSubmitMs.samples == 7)
        #expect(report.recheckToSubmitMs.p50 == 400)
        #expect(report.recheckToSubmitMs.p95 == 700)
        #expect(report.recheckToSubmitMs.max == 700)

        #expect(report.escalations.total == 1)
        #expect(report.escalations.open == 1)
        #expect(report.escalations.takeoverIDs == ["\(k(9))#1"])

        // Without --since the earlier rejection counts too.
        let all = GovernanceReport.compute(try await source.input(now: t0.addingTimeInterval(3600)))
        #expect(all.requests.total == 16)
        #expect(all.rejections.byReason["SCHEMA_INVALID"] == 1)

        // The stable JSON form and its CSV flattening.
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "format", "generated_at", "since", "requests", "grants", "anomalies_before_submission", "rejections",
                "halts",
                "evidence", "recheck_to_submit_ms", "escalations",
            ])
        #expect((object["grants"] as? [String: Any])?["clean_rate"] as? Double == 0.5714)
        let csv = report.csv()
        #expect(csv.hasPrefix("metric,value\n"))
        #expect(csv.contains("\ngrants.clean_rate,0.5714\n"))
        #expect(csv.contains("\nanomalies_before_submission.by_category.tenant_mismatch,2\n"))
        #expect(csv.contains("\nevidence.failures.1.problems,no grant evidence bundle\n"))
        #expect(report.table().contains("grant evidence verified       5/7  71.4%"))
        let decoded = try JSONDecoder().decode(GovernanceReport.self, from: report.json())
        #expect(decoded == report)
    }

    @Test(
        "over-privilege is unknown (never clean) when the stored request is unreadable; rejections on busy keys count")
    func unknownOverPrivilegeAndBusyKeyRejections() async throws {
        let dir = try TestEnvironment.scratchDirectory("report-fixes")
        let t0 = Date(timeIntervalSince1970: 1_795_000_000)
        let clock = ManualClock(t0)
        var configuration = SQLiteLedger.Configuration(path: dir.appendingPathComponent("ledger.sqlite").path)
        configuration.clock = { clock.now }
        let ledger = try SQLiteLedger(configuration: configuration)
        let evidenceKey = EvidenceKey.generate(keyID: "report-it").key
        let store = try EvidenceStore(root: dir.appendingPathComponent("evidence"), key: evidenceKey)
        let w = World(ledger: ledger, store: store, key: evidenceKey, clock: clock)
        let k = World.key
        let events = EventFactory(source: "urn:test")
        func rejected(_ key: RestorationKey, _ requestID: String, _ code: ReasonCode) -> OutboxMessage {
            // Each message its own body hash (the event id derives from it).
            let hex = requestID.utf8.map { String(format: "%02x", $0) }.joined()
            let hash = String((hex + String(repeating: "0", count: 64)).prefix(64))
            return OutboxMessage(
                events.rejected(
                    key: key, requestID: requestID, bodySHA256: hash,
                    reasons: [code], time: clock.now), key: key)
        }

        try await w.grant(k(1), confirmation: "BG-1")
        try w.bundle(k(1), confirmation: "BG-1", recheckToClickMs: 100)
        // A grant whose stored body no longer decodes: whether it is over-privileged is unknown.
        var claim = try #require(
            try await ledger.claim(
                k(2), requestID: "REQ-R02", owner: "worker-r",
                payload: Data("{\"not\": \"a request\"}".utf8)
            ).claim)
        claim = try await ledger.passGate(claim, approvalRefs: w.refs, checkedAt: clock.now)
        claim = try await ledger.beginSubmitting(claim, recheckedAt: clock.now)
        try await ledger.decide(
            claim, .granted(confirmationID: "BG-2", expiresAt: clock.now.addingTimeInterval(7200), reconciled: false))
        try w.bundle(k(2), confirmation: "BG-2", recheckToClickMs: 100)

        // A late copy of k(1)'s request, past its not_after: the key is decided, so the ledger keeps `granted` and
        // only the `rejected` outcome event is written (as the pipeline does on `keyBusy`).
        let late = try await ledger.reject(k(1), requestID: "REQ-R01-LATE", reasons: [.requestExpired])
        #expect(late == .keyBusy(.granted))
        try await ledger.enqueueEvents([rejected(k(1), "REQ-R01-LATE", .requestExpired)])
        // A rejected key rejected again: its row counts once, the second event counts as a busy-key rejection.
        _ = try await ledger.reject(
            k(3), requestID: "REQ-R03", reasons: [.deliveryLimit],
            events: [rejected(k(3), "REQ-R03", .deliveryLimit)])
        #expect(
            try await ledger.reject(k(3), requestID: "REQ-R03-B", reasons: [.requestExpired]) == .keyBusy(.rejected))
        try await ledger.enqueueEvents([rejected(k(3), "REQ-R03-B", .requestExpired)])

        let source = GovernanceReportSource(
            ledger: ledger, evidenceRoot: store.root, trustedPublicKey: evidenceKey.publicKeyRaw)
        let report = GovernanceReport.compute(try await source.input(now: t0.addingTimeInterval(3600)))
        #expect(report.grants.total == 2)
        #expect(report.grants.overPrivileged == [])
        #expect(report.grants.overPrivilegeUnknown == [k(2).description])
        #expect(report.grants.clean == 1)
        #expect(report.rejections.total == 3)
        #expect(report.rejections.onBusyKey == 2)
        #expect(report.rejections.withoutKey == 0)
        #expect(report.rejections.byReason == ["DELIVERY_LIMIT": 1, "REQUEST_EXPIRED": 2])
        let table = report.table()
        #expect(table.contains("checks the expiry only"), "\(table)")
        #expect(table.contains("over-privilege unknown      \(k(2))"), "\(table)")
        #expect(table.contains("2 on a held or decided key"), "\(table)")
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        #expect(
            (object["grants"] as? [String: Any])?["over_privilege_basis"] as? String
                == GovernanceReport.overPrivilegeBasis)
        #expect((object["rejections"] as? [String: Any])?["on_busy_key"] as? Int == 2)
    }

    @Test("an empty ledger gives zero counts and no rates")
    func empty() throws {
        let report = GovernanceReport.compute(
            .init(entries: [], takeovers: [], generatedAt: Date(timeIntervalSince1970: 0)))
        #expect(report.requests.total == 0)
        #expect(report.grants.cleanRate == nil)
        #expect(report.recheckToSubmitMs.p50 == nil)
        let object = try #require(try JSONSerialization.jsonObject(with: report.json()) as? [String: Any])
        // Rates and percentiles that cannot be computed are absent (documented in docs/REPORT.md).
        #expect((object["grants"] as? [String: Any])?["clean_rate"] == nil)
        #expect((object["grants"] as? [String: Any])?["total"] as? Int == 0)
    }
}
