import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

@Suite("Ledger conformance: claims, epochs and decisions (SQLite file and PostgreSQL)")
struct LedgerClaimTests {
    @Test func openingSetsWALAndFullSynchronousOnTheWriter() throws {
        let fixture = try LedgerFixture()
        defer { fixture.remove() }
        let ledger = try fixture.open()
        let durability = try ledger.durability()
        #expect(durability.journalMode == "wal")
        #expect(durability.synchronous == 2, "FULL, not GRDB's NORMAL")
        // A second opening of an existing file (migrations already applied) is durable too.
        let again = try fixture.open()
        #expect(try again.durability().synchronous == 2)
        #expect(try again.integrityCheck() == "ok")
    }

    @Test(arguments: LedgerBackend.allCases) func fullLifeCycleRecordsEverything(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(1)
        var claim = try await ledger.claim(k, requestID: "REQ-1", owner: "w1", payload: Data("body".utf8))
            .requireClaim()
        #expect(claim.epoch == 1)
        #expect(claim.recovery == nil)
        let gateTime = fixture.clock.now
        claim = try await ledger.passGate(claim, approvalRefs: ["APR-1", "APR-2"], checkedAt: gateTime)
        #expect(claim.state == .gatePassed)
        let recheck = gateTime.addingTimeInterval(2.5)
        claim = try await ledger.beginSubmitting(claim, recheckedAt: recheck)
        #expect(try await ledger.entry(for: k)?.state == .submitting, "durable before the click")
        let expires = fixture.clock.now.addingTimeInterval(7200)
        let decision = try await ledger.decide(
            claim, .granted(confirmationID: "CONF-9", expiresAt: expires), events: [event("e-1", k)])
        #expect(decision.state == .granted)

        let entry = try #require(try await ledger.entry(for: k))
        #expect(entry.state == .granted)
        #expect(entry.confirmationID == "CONF-9")
        #expect(entry.approvalRefs == ["APR-1", "APR-2"])
        #expect(entry.recheckTimes.count == 2)
        #expect(abs(entry.recheckTimes[1].timeIntervalSince(recheck)) < 0.01)
        #expect(entry.owner == nil)
        #expect(entry.payload == Data("body".utf8))
        #expect(entry.decidedAt != nil)
        #expect(try await ledger.pendingEvents(limit: 100).map(\.message.eventID) == ["e-1"])
    }

    @Test(arguments: LedgerBackend.allCases) func redeliveryOfADecidedKeyIsAnsweredAndEveryRequestIDIsRecorded(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(2)
        let claim = try await ledger.claim(k, requestID: "REQ-A", owner: "w1").requireClaim()
        let gated = try await ledger.passGate(claim, approvalRefs: [], checkedAt: fixture.clock.now)
        let submitting = try await ledger.beginSubmitting(gated, recheckedAt: fixture.clock.now)
        try await ledger.decide(submitting, .granted(confirmationID: "C-1", expiresAt: nil))

        // Redelivered with the same id, then replayed with a new request id: never run again.
        for requestID in ["REQ-A", "REQ-B"] {
            guard case .decided(let decision) = try await ledger.claim(k, requestID: requestID, owner: "w2") else {
                Issue.record("a decided key must answer .decided")
                return
            }
            #expect(decision.state == .granted)
            #expect(decision.confirmationID == "C-1")
        }
        // A second process (no cache) sees the decision too.
        let other = try await fixture.open()
        #expect(try await other.decision(for: k)?.state == .granted)
        #expect(try await other.decision(for: key(99)) == nil)

        let sightings = try await ledger.requestSightings(for: k)
        #expect(sightings.map(\.requestID) == ["REQ-A", "REQ-B"])
        #expect(sightings.first?.count == 2)
    }

    @Test(arguments: LedgerBackend.allCases) func aLiveClaimIsNeverTakenAndAnExpiredOneIsTakenOverWithEpochPlusOne(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let workerA = try await fixture.open(lease: .seconds(30))
        let workerB = try await fixture.open(lease: .seconds(30))
        let k = key(3)
        let stale = try await workerA.claim(k, requestID: "REQ-1", owner: "A").requireClaim()

        guard case .inProgress(let owner, _) = try await workerB.claim(k, requestID: "REQ-1", owner: "B") else {
            Issue.record("a live owner's claim must never be taken")
            return
        }
        #expect(owner == "A")

        fixture.clock.advance(seconds: 31)
        #expect(try await workerB.expiredClaims(limit: 100).map(\.key) == [k])
        let fresh = try await workerB.claim(k, requestID: "REQ-1", owner: "B").requireClaim()
        #expect(fresh.epoch == stale.epoch + 1)
        #expect(fresh.recovery == .restart)

        // The stale owner wakes up and writes late: refused by epoch, whatever the write.
        let late = await #expect(throws: LedgerError.self) {
            _ = try await workerA.passGate(stale, approvalRefs: ["APR-X"], checkedAt: fixture.clock.now)
        }
        #expect(late?.code == .fenced)
        #expect(late?.heldEpoch == 1)
        #expect(late?.currentEpoch == 2)
        let lateDecision = await #expect(throws: LedgerError.self) {
            try await workerA.decide(
                stale, .halted(TakeoverRecord(reasons: [.consoleError], stage: .console, escalate: false)),
                events: [event("late-event", k)])
        }
        #expect(lateDecision?.code == .fenced)
        #expect(try await workerB.pendingEvents(limit: 100).isEmpty, "a fenced decision writes no event")
        let renewed = await #expect(throws: LedgerError.self) { _ = try await workerA.renew(stale) }
        #expect(renewed?.code == .fenced)

        // The new owner proceeds normally.
        let gated = try await workerB.passGate(fresh, approvalRefs: ["APR-1"], checkedAt: fixture.clock.now)
        #expect(gated.state == .gatePassed)
        #expect(try await workerB.entry(for: k)?.approvalRefs == ["APR-1"])
    }

    @Test(arguments: LedgerBackend.allCases)
    func aDeadOwnerWhileSubmittingLeavesTheKeyInDoubtAndTheNewOwnerMustReconcile(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open(lease: .seconds(10))
        let k = key(4)
        var claim = try await ledger.claim(k, requestID: "REQ-1", owner: "A").requireClaim()
        claim = try await ledger.passGate(claim, approvalRefs: [], checkedAt: fixture.clock.now)
        claim = try await ledger.beginSubmitting(claim, recheckedAt: fixture.clock.now)
        fixture.clock.advance(seconds: 11)

        let expired = try await ledger.expiredClaims(limit: 100)
        #expect(expired.map(\.machine).map { $0.liveness(at: ledger.clock()) } == [.inDoubt])
        let recovery = try await ledger.claim(k, requestID: "REQ-1", owner: "B").requireClaim()
        #expect(recovery.recovery == .reconcile)
        #expect(recovery.state == .submitting)
        #expect(try await ledger.entry(for: k)?.inDoubt == true)
        // It can never go back to gate-passed (which would submit again).
        let back = await #expect(throws: LedgerError.self) {
            _ = try await ledger.beginSubmitting(recovery, recheckedAt: fixture.clock.now)
        }
        #expect(back?.code == .forbiddenTransition)
        try await ledger.decide(recovery, .granted(confirmationID: "C-7", expiresAt: nil, reconciled: true))
        #expect(try await ledger.entry(for: k)?.reconciled == true)
    }

    @Test(arguments: LedgerBackend.allCases) func renewingKeepsTheClaimAlive(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open(lease: .seconds(10))
        let k = key(5)
        var claim = try await ledger.claim(k, requestID: "REQ-1", owner: "A").requireClaim()
        fixture.clock.advance(seconds: 8)
        claim = try await ledger.renew(claim)
        fixture.clock.advance(seconds: 8)
        guard case .inProgress = try await ledger.claim(k, requestID: "REQ-1", owner: "B") else {
            Issue.record("a renewed lease is live")
            return
        }
        #expect(claim.epoch == 1)
    }

    /// Issue 21: duplicates' sightings are written in batches, one write for many keys, each adding its copies.
    @Test(arguments: LedgerBackend.allCases) func sightingsInABatchAddTheirCopies(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let a = key(21)
        let b = key(22)
        _ = try await ledger.claim(a, requestID: "REQ-A", owner: "A").requireClaim()
        try await ledger.recordSightings([
            SightingTally(key: a, requestID: "REQ-A", copies: 4),
            SightingTally(key: a, requestID: "REQ-A2", copies: 2),
            SightingTally(key: b, requestID: "REQ-B", copies: 3),
        ])
        try await ledger.recordSightings([SightingTally(key: a, requestID: "REQ-A", copies: 1)])
        let sightsA = try await ledger.requestSightings(for: a)
        #expect(
            Dictionary(uniqueKeysWithValues: sightsA.map { ($0.requestID, $0.count) }) == ["REQ-A": 6, "REQ-A2": 2])
        #expect(try await ledger.requestSightings(for: b).map(\.count) == [3])
        try await ledger.recordSightings([])
        let refused = await #expect(throws: LedgerError.self) {
            try await ledger.recordSightings([SightingTally(key: a, requestID: "REQ-A", copies: 0)])
        }
        #expect(refused?.code == .invalidInput)
        #expect(try await ledger.requestSightings(for: a).first { $0.requestID == "REQ-A" }?.count == 6, "untouched")
    }

    /// A host cut off past its `submitting` lease renewed it once its link came back, then clicked (a multi-host CI
    /// run). A lapsed lease is refused renewal, judged by the ledger's clock, even while nobody has reclaimed it.
    @Test(arguments: LedgerBackend.allCases) func aLapsedLeaseIsNeverRenewed(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open(lease: .seconds(10))
        let k = key(15)
        let claim = try await ledger.claim(k, requestID: "REQ-1", owner: "A").requireClaim()
        fixture.clock.advance(seconds: 11)
        let refused = await #expect(throws: LedgerError.self) { _ = try await ledger.renew(claim) }
        #expect(refused?.code == .leaseLapsed)
        let entry = try #require(try await ledger.entry(for: k))
        #expect(entry.epoch == 1)
        let stored = try #require(entry.leaseExpiresAt)
        #expect(abs(stored.timeIntervalSince(claim.leaseExpiresAt)) < 0.001, "the row's lease is untouched")
    }

    @Test(arguments: LedgerBackend.allCases) func rejectionOfANewKeyIsFinalAndNeverTouchesAKeyWithOtherWork(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let fresh = key(6)
        guard
            case .rejected(let decision) = try await ledger.reject(
                fresh, requestID: "REQ-1", reasons: [.requestExpired], events: [event("rej-1", fresh)])
        else {
            Issue.record("a new key is rejected")
            return
        }
        #expect(decision.reasons == [.requestExpired])
        #expect(try await ledger.decision(for: fresh)?.state == .rejected)
        guard case .decided = try await ledger.claim(fresh, requestID: "REQ-2", owner: "w") else {
            Issue.record("rejected is final")
            return
        }

        let busy = key(7)
        _ = try await ledger.claim(busy, requestID: "REQ-1", owner: "w").requireClaim()
        #expect(try await ledger.reject(busy, requestID: "REQ-OLD", reasons: [.requestExpired]) == .keyBusy(.claimed))
        #expect(try await ledger.entry(for: busy)?.state == .claimed)
        #expect(try await ledger.requestSightings(for: busy).map(\.requestID) == ["REQ-1", "REQ-OLD"])
    }

    @Test(arguments: LedgerBackend.allCases) func storedListsSurviveAnyCharacters(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let refs = ["APR-1", "quote\"d", "back\\slash", "line\nbreak", "tab\t", "\u{01}ctl", "ünïcødé ✓"]
        let claim = try await ledger.claim(key(9), requestID: "REQ-1", owner: "w").requireClaim()
        _ = try await ledger.passGate(claim, approvalRefs: refs, checkedAt: fixture.clock.now)
        #expect(try await ledger.entry(for: key(9))?.approvalRefs == refs)
        #expect(try await ledger.entry(for: key(9))?.recheckTimes == [fixture.clock.now])
    }

    @Test(arguments: LedgerBackend.allCases) func badInputIsRefusedWithASpecificCode(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let badKey = RestorationKey(caseID: "bad/case", tenantID: "t")
        let error = await #expect(throws: LedgerError.self) {
            _ = try await ledger.claim(badKey, requestID: "REQ-1", owner: "w")
        }
        #expect(error?.code == .invalidInput)
        let badRequest = await #expect(throws: LedgerError.self) {
            _ = try await ledger.claim(key(1), requestID: "", owner: "w")
        }
        #expect(badRequest?.code == .invalidInput)
        #expect(error?.description == "ledger operation failed (invalid-input)")
    }

    @Test(arguments: LedgerBackend.allCases) func concurrentClaimsOfOneKeyInOneProcessHaveExactlyOneWinner(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(8)
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<50 {
                group.addTask { try await ledger.claim(k, requestID: "REQ-\(index)", owner: "w\(index)").claim != nil }
            }
            var winners = 0
            for try await won in group where won { winners += 1 }
            return winners
        }
        #expect(winners == 1)
        #expect(try await ledger.requestSightings(for: k).count == 50)
    }

    @Test(arguments: LedgerBackend.allCases)
    func groupCommitAnswersEveryConcurrentWriterAndOneFailureDoesNotSpoilTheBatch(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<300 {
                group.addTask {
                    if index % 50 == 0 {
                        // A fenced write in the middle of the batch.
                        let bogus = Claim(
                            key: key(100_000 + index), epoch: 9, owner: "x", leaseExpiresAt: Date(), state: .claimed)
                        do {
                            _ = try await ledger.passGate(bogus, approvalRefs: [], checkedAt: Date())
                            return false
                        } catch let error as LedgerError {
                            return error.code == .notFound
                        }
                    }
                    let claim = try await ledger.claim(key(index), requestID: "REQ-\(index)", owner: "w").requireClaim()
                    let gated = try await ledger.passGate(claim, approvalRefs: [], checkedAt: Date())
                    let submitting = try await ledger.beginSubmitting(gated, recheckedAt: Date())
                    try await ledger.decide(
                        submitting, .granted(confirmationID: "C-\(index)", expiresAt: nil),
                        events: [event("g-\(index)", key(index))])
                    return true
                }
            }
            var ok = 0
            for try await result in group where result { ok += 1 }
            return ok
        }
        #expect(results == 300)
        let other = try await fixture.open()
        #expect(try await other.stats().byState[.granted] == 294)
        #expect(try await other.pendingEvents(limit: 1000).count == 294)
    }
}
