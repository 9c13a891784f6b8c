import BreakGlassCore
import BreakGlassLedger
import Foundation
import GRDB
import Testing

/// The invariants hold in the schema itself: raw SQL from any program is refused too.
@Suite("Ledger schema invariants (raw SQL against the file)")
struct LedgerSchemaTests {
    /// A ledger with one row in each interesting state, and a raw connection to the same file.
    static func prepared() async throws -> (LedgerFixture, DatabaseQueue) {
        let fixture = try LedgerFixture()
        let ledger = try fixture.open()
        // granted
        var claim = try await ledger.claim(key(1), requestID: "REQ-1", owner: "w").requireClaim()
        claim = try await ledger.passGate(claim, approvalRefs: [], checkedAt: fixture.clock.now)
        claim = try await ledger.beginSubmitting(claim, recheckedAt: fixture.clock.now)
        try await ledger.decide(claim, .granted(confirmationID: "C-1", expiresAt: nil), events: [event("e-1", key(1))])
        // halted
        let halted = try await ledger.claim(key(2), requestID: "REQ-2", owner: "w").requireClaim()
        try await ledger.decide(halted, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)))
        // claimed
        _ = try await ledger.claim(key(3), requestID: "REQ-3", owner: "w").requireClaim()
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let raw = try DatabaseQueue(path: fixture.path, configuration: configuration)
        return (fixture, raw)
    }

    static func refused(_ raw: DatabaseQueue, _ sql: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: DatabaseError.self, "must be refused: \(sql)", sourceLocation: sourceLocation) {
            try raw.write { db in try db.execute(sql: sql) }
        }
    }

    @Test func theTransitionTableIsTheStateMachines() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        let rows = try await raw.read { db in
            try Row.fetchAll(db, sql: "SELECT from_state, to_state, via FROM state_transitions")
                .map { "\($0["from_state"] as String)>\($0["to_state"] as String)>\($0["via"] as String)" }
        }
        let expected = RestorationStateMachine.allowedTransitions.map { "\($0.from)>\($0.to)>\($0.via)" }
        #expect(Set(rows) == Set(expected))
    }

    @Test func grantedNeverGoesBackAndIsImmutable() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        for state in RestorationState.allCases where state != .granted {
            Self.refused(
                raw,
                "UPDATE restorations SET state = '\(state.rawValue)', owner = 'x', lease_expires_at = '2099-01-01', takeover_id = NULL, epoch = epoch + 1 WHERE case_id = 'CASE-1'"
            )
        }
        Self.refused(raw, "UPDATE restorations SET confirmation_id = 'C-OTHER' WHERE case_id = 'CASE-1'")
        Self.refused(raw, "UPDATE restorations SET epoch = epoch + 1 WHERE case_id = 'CASE-1'")
        Self.refused(raw, "DELETE FROM restorations WHERE case_id = 'CASE-1'")
    }

    @Test func everyForbiddenStateChangeIsRefusedByTheTrigger() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        // From claimed (CASE-3): only gate-passed, halted, rejected exist.
        for state in [RestorationState.received, .submitting, .granted, .resolved] {
            Self.refused(
                raw,
                "UPDATE restorations SET state = '\(state.rawValue)', confirmation_id = 'C' WHERE case_id = 'CASE-3'")
        }
        Self.refused(raw, "UPDATE restorations SET state = 'unknown' WHERE case_id = 'CASE-3'")
        Self.refused(raw, "UPDATE restorations SET epoch = 0 WHERE case_id = 'CASE-3'")
        Self.refused(raw, "UPDATE restorations SET owner = 'thief' WHERE case_id = 'CASE-3'")
        Self.refused(
            raw,
            "INSERT INTO restorations (case_id, tenant_id, state, request_id, created_at, updated_at, confirmation_id) VALUES ('CASE-9', 'tnt-1', 'granted', 'R', '2026-01-01', '2026-01-01', 'C')"
        )
        Self.refused(
            raw,
            "INSERT INTO restorations (case_id, tenant_id, state, request_id, created_at, updated_at) VALUES ('CASE-3', 'tnt-1', 'received', 'R', '2026-01-01', '2026-01-01')"
        )
    }

    @Test func nothingLeavesHaltedWithoutATakeoverResolution() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        let resume =
            "UPDATE restorations SET state = 'claimed', owner = 'w', lease_expires_at = '2099-01-01', epoch = epoch + 1, resume_count = resume_count + 1 WHERE case_id = 'CASE-2'"
        Self.refused(raw, resume)
        Self.refused(raw, "UPDATE restorations SET state = 'resolved' WHERE case_id = 'CASE-2'")
        Self.refused(raw, "UPDATE restorations SET state = 'granted', confirmation_id = 'C' WHERE case_id = 'CASE-2'")
        // With the resolution recorded, a resume that does not count is still refused; one that counts passes.
        try await raw.write { db in
            try db.execute(
                sql:
                    "UPDATE takeovers SET resolution = 'resumed', resolved_by = 'alice', resolved_at = '2026-01-01' WHERE case_id = 'CASE-2'"
            )
        }
        Self.refused(
            raw,
            "UPDATE restorations SET state = 'claimed', owner = 'w', lease_expires_at = '2099-01-01', epoch = epoch + 1 WHERE case_id = 'CASE-2'"
        )
        Self.refused(raw, "UPDATE restorations SET state = 'resolved' WHERE case_id = 'CASE-2'")
        try await raw.write { db in try db.execute(sql: resume) }
        // A resolution is recorded once.
        Self.refused(raw, "UPDATE takeovers SET resolution = 'resolved' WHERE case_id = 'CASE-2'")
        Self.refused(raw, "DELETE FROM takeovers")
    }

    @Test func pendingEventsCannotBeDeletedNorPublishedOnesUnpublished() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        Self.refused(raw, "DELETE FROM outbox")
        Self.refused(raw, "UPDATE outbox SET body = x'00'")
        try await raw.write { db in try db.execute(sql: "UPDATE outbox SET published_at = '2026-01-01'") }
        Self.refused(raw, "UPDATE outbox SET published_at = NULL")
        Self.refused(raw, "DELETE FROM request_sightings")
    }

    @Test func theLedgerMapsATriggerRefusalToForbiddenTransition() async throws {
        let (fixture, raw) = try await Self.prepared()
        defer { fixture.remove() }
        let ledger = try fixture.open()
        // Grant twice through the API with a forged claim of the right epoch: the state machine refuses.
        let forged = Claim(key: key(1), epoch: 1, owner: "w", leaseExpiresAt: Date(), state: .submitting)
        let error = await #expect(throws: LedgerError.self) {
            try await ledger.decide(forged, .granted(confirmationID: "C-2", expiresAt: nil))
        }
        #expect(error?.code == .forbiddenTransition)
        _ = raw
    }
}
