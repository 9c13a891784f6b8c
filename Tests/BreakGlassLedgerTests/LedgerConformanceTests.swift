import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

/// What both backends must refuse or guarantee whoever writes to them (issue 17): the state machine's edges enforced
/// a second time by the database, and one winner among several ledgers (processes, hosts) racing for one key.
@Suite("Ledger conformance: the database's own guards, racing ledgers (SQLite file and PostgreSQL)")
struct LedgerConformanceTests {
    /// A granted key, its outcome event written.
    static func granted(_ ledger: any Ledger, _ k: RestorationKey) async throws {
        var claim = try await ledger.claim(k, requestID: "REQ-\(k.caseID)", owner: "w").requireClaim()
        claim = try await ledger.passGate(claim, approvalRefs: ["APR-1"], checkedAt: Date())
        claim = try await ledger.beginSubmitting(claim, recheckedAt: Date())
        try await ledger.decide(claim, .granted(confirmationID: "C-1", expiresAt: nil), events: [event("g-\(k)", k)])
    }

    @Test(arguments: LedgerBackend.allCases)
    func theDatabaseRefusesWhatTheStateMachineRefusesWhateverProgramWrites(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.granted(ledger, key(1))
        let refused = [
            // granted → claimed: an edge the state machine does not have (a second grant would follow)
            "UPDATE restorations SET state = 'claimed' WHERE case_id = 'CASE-1'",
            // a decided row never changes its outcome
            "UPDATE restorations SET confirmation_id = 'C-forged' WHERE case_id = 'CASE-1'",
            // the fencing token never goes back
            "UPDATE restorations SET epoch = 0 WHERE case_id = 'CASE-1'",
            // nothing is born granted
            "INSERT INTO restorations (case_id, tenant_id, state, epoch, request_id, confirmation_id, created_at, "
                + "updated_at) VALUES ('CASE-9', 'tnt-1', 'granted', 1, 'REQ-9', 'C-9', 0, 0)",
            // one row per key
            "INSERT INTO restorations (case_id, tenant_id, state, request_id, created_at, updated_at) "
                + "VALUES ('CASE-1', 'tnt-1', 'received', 'REQ-x', 0, 0)",
            // restorations and pending events are never deleted; an event is never rewritten
            "DELETE FROM restorations WHERE case_id = 'CASE-1'",
            "DELETE FROM outbox WHERE case_id = 'CASE-1'",
            "UPDATE outbox SET routing_key = 'forged' WHERE case_id = 'CASE-1'",
        ]
        for sql in refused {
            // Refused by the ledger's own guards (a trigger's `breakglass:` message or the unique key), not by a
            // mistake in the statement.
            let error = #expect(throws: PostgresAdmin.Failed.self, "must be refused by the \(backend) database: \(sql)")
            {
                try fixture.rawSQL(sql)
            }
            let text = error?.description.lowercased() ?? ""
            #expect(
                text.contains("breakglass:") || text.contains("unique constraint"),
                "refused for the wrong reason: \(text.prefix(300))")
        }
        let entry = try #require(try await ledger.entry(for: key(1)))
        #expect(entry.state == .granted)
        #expect(entry.confirmationID == "C-1")
        #expect(entry.epoch == 1)
        #expect(try await ledger.pendingEvents(limit: 10).count == 1)
        #expect(try await ledger.entry(for: key(9)) == nil)
    }

    @Test(arguments: LedgerBackend.allCases)
    func severalLedgersRacingForOneKeyHaveExactlyOneWinner(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        // Four ledgers = four processes (or hosts), each with its own connections, ten claims each.
        var ledgers: [any Ledger] = []
        for _ in 0..<4 { ledgers.append(try await fixture.open()) }
        let k = key(7)
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, ledger) in ledgers.enumerated() {
                for attempt in 0..<10 {
                    group.addTask {
                        try await ledger.claim(k, requestID: "REQ-\(index)-\(attempt)", owner: "w\(index)").claim != nil
                    }
                }
            }
            var winners = 0
            for try await won in group where won { winners += 1 }
            return winners
        }
        #expect(winners == 1)
        let entry = try #require(try await ledgers[0].entry(for: k))
        #expect(entry.epoch == 1)
        #expect(try await ledgers[1].requestSightings(for: k).count == 40)
        for ledger in ledgers { await ledger.shutdown() }
    }

    @Test(arguments: LedgerBackend.allCases)
    func aDecisionWrittenByOneLedgerIsSeenByEveryOther(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let writer = try await fixture.open()
        let reader = try await fixture.open()
        #expect(try await reader.decision(for: key(3)) == nil, "not decided yet (and not cached as such)")
        try await Self.granted(writer, key(3))
        #expect(try await reader.decision(for: key(3))?.state == .granted)
        guard case .decided(let decision) = try await reader.claim(key(3), requestID: "REQ-again", owner: "r") else {
            Issue.record("a key decided by another ledger must answer .decided")
            return
        }
        #expect(decision.confirmationID == "C-1")
        let stats = try await reader.stats()
        #expect(stats.byState[.granted] == 1)
        #expect(stats.pendingEvents == 1)
        #expect(await reader.writeProbe().ok)
    }

    @Test(arguments: LedgerBackend.allCases)
    func theLedgerClockIsTheOneLeasesAreJudgedBy(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open(lease: .seconds(30))
        let before = ledger.clock()
        let claim = try await ledger.claim(key(4), requestID: "REQ-1", owner: "A").requireClaim()
        let after = ledger.clock()
        // The lease ends `lease` after the write's own reading of the ledger's clock, which lies between the two
        // local readings (PostgreSQL's local estimate is never behind the server, so `after` bounds it).
        #expect(claim.leaseExpiresAt.timeIntervalSince(before) >= 30 - 0.001)
        #expect(claim.leaseExpiresAt.timeIntervalSince(after) <= 30 + 0.001)
        // PostgreSQL's clock is the server's, shifted by the test's steps: real time passes on it too, so the step
        // leaves 5 s for a loaded machine (a full parallel run once took over 1 s between these two claims).
        fixture.clock.advance(seconds: 25)
        guard case .inProgress = try await ledger.claim(key(4), requestID: "REQ-1", owner: "B") else {
            Issue.record("25 s into a 30 s lease, the claim is live")
            return
        }
        fixture.clock.advance(seconds: 6)
        #expect(try await ledger.claim(key(4), requestID: "REQ-1", owner: "B").claim?.epoch == 2)
    }
}
