import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

@Suite("Ledger conformance: takeover, resume, resolve, revocation (SQLite file and PostgreSQL)")
struct LedgerTakeoverTests {
    static let record = TakeoverRecord(
        reasons: [.consoleScopeDrift], stage: .console, escalate: false, screen: "scopes",
        url: "http://console.local/grants/new", enteredValues: ["tenant": "tnt-1", "note": "•••"],
        approvalRefs: ["APR-1", "APR-2"], draftID: "DRAFT-4", lastScreenshotPath: "shots/03-scopes.png")

    static func halt(_ ledger: any Ledger, _ k: RestorationKey, record: TakeoverRecord = record) async throws -> Claim {
        let claim = try await ledger.claim(k, requestID: "REQ-1", owner: "w1").requireClaim()
        let gated = try await ledger.passGate(claim, approvalRefs: ["APR-1"], checkedAt: Date())
        try await ledger.decide(
            gated, .halted(record), events: [event("halted-\(k)", k, type: "breakglass.restoration.halted")])
        return gated
    }

    @Test(arguments: LedgerBackend.allCases) func aHaltStoresTheTakeoverRecordWithTheRow(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(1)
        let claim = try await Self.halt(ledger, k)
        let entry = try #require(try await ledger.entry(for: k))
        #expect(entry.state == .halted)
        #expect(entry.takeoverID == claim.takeoverID)
        #expect(entry.takeoverID == "CASE-1/tnt-1#1")
        #expect(entry.reasons == [.consoleScopeDrift])
        let takeover = try #require(try await ledger.takeover(id: claim.takeoverID))
        #expect(takeover.record == Self.record)
        #expect(takeover.resolution == nil)
        #expect(try await ledger.takeovers(for: nil, openOnly: true, limit: 100).map(\.id) == [claim.takeoverID])
        // Halted answers redeliveries: a person must act first.
        guard case .decided(let decision) = try await ledger.claim(k, requestID: "REQ-2", owner: "w2") else {
            Issue.record("halted is decided for redeliveries")
            return
        }
        #expect(decision.state == .halted)
    }

    /// Issue 21: the duplicate's question. A halted key is decided only until a person resumes it (then it is in
    /// flight again) or resolves it (final); the answer is read again each time for a halted key, never remembered.
    @Test(arguments: LedgerBackend.allCases) func decidedStateFollowsAHaltedKeyThroughResumeAndResolve(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(41)
        #expect(try await ledger.decidedState(for: k) == nil, "never seen")
        let claim = try await ledger.claim(k, requestID: "REQ-1", owner: "w1").requireClaim()
        #expect(try await ledger.decidedState(for: k) == nil, "in flight")
        try await ledger.decide(claim, .halted(Self.record))
        #expect(try await ledger.decidedState(for: k) == .halted)
        #expect(try await ledger.decision(for: k)?.state == .halted, "the same answer as the whole decision")
        let resumed = try await ledger.resume(k, by: "alice", note: "approval renewed", owner: "w2")
        #expect(try await ledger.decidedState(for: k) == nil, "resumed: in flight again, not a duplicate's key")
        try await ledger.decide(resumed, .halted(Self.record))
        #expect(try await ledger.decidedState(for: k) == .halted)
        try await ledger.resolve(k, by: "alice", note: "closed by hand")
        #expect(try await ledger.decidedState(for: k) == .resolved)
        let granted = key(42)
        let second = try await ledger.claim(granted, requestID: "REQ-2", owner: "w1").requireClaim()
        let gated = try await ledger.passGate(second, approvalRefs: ["APR-1"], checkedAt: fixture.clock.now)
        let submitting = try await ledger.beginSubmitting(gated, recheckedAt: fixture.clock.now)
        try await ledger.decide(
            submitting, .granted(confirmationID: "CONF-1", expiresAt: fixture.clock.now.addingTimeInterval(3600)))
        #expect(try await ledger.decidedState(for: granted) == .granted)
        #expect(try await ledger.decidedState(for: granted) == .granted, "a final decision, from memory or not")
    }

    /// Issue 21: a claim remembers the message its worker verified in full, by the digest of its bytes; a fresh
    /// worker finds it with the key's decided state now (none while in flight or after a resume), and never past
    /// `not_after` once pruned.
    @Test(arguments: LedgerBackend.allCases) func aClaimRemembersItsVerifiedMessageForFreshWorkers(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(43)
        let digest = (0..<32).map { UInt8($0 * 7 % 256) }
        let record = VerifiedMessageRecord(
            digest: digest, key: k, requestID: "REQ-1", notAfter: fixture.clock.now.addingTimeInterval(3600),
            keyID: "escalation-1", publicKey: Data(repeating: 9, count: 32))
        #expect(try await ledger.knownMessage(digest: digest) == nil, "nothing remembered yet")
        let wrong = VerifiedMessageRecord(
            digest: digest, key: key(44), requestID: "REQ-1", notAfter: record.notAfter, keyID: "escalation-1",
            publicKey: record.publicKey)
        let refused = await #expect(throws: LedgerError.self) {
            _ = try await ledger.claim(k, requestID: "REQ-1", owner: "w1", payload: nil, lease: nil, verified: wrong)
        }
        #expect(refused?.code == .invalidInput, "a record of another key never rides on this claim")
        let claim = try await ledger.claim(
            k, requestID: "REQ-1", owner: "w1", payload: nil, lease: nil, verified: record
        )
        .requireClaim()
        #expect(try await ledger.knownMessage(digest: digest) == KnownMessage(record: record, decidedState: nil))
        try await ledger.decide(claim, .halted(Self.record))
        #expect(try await ledger.knownMessage(digest: digest)?.decidedState == .halted)
        // The same bytes claimed again (a redelivery racing the decision): remembered once, no error.
        guard
            case .decided = try await ledger.claim(
                k, requestID: "REQ-1", owner: "w2", payload: nil, lease: nil, verified: record)
        else {
            Issue.record("a halted key answers a claim with its decision")
            return
        }
        _ = try await ledger.resume(k, by: "alice", note: "renewed", owner: "w3")
        #expect(try await ledger.knownMessage(digest: digest)?.decidedState == nil, "resumed: in flight again")
        #expect(try await ledger.knownMessage(digest: Array(digest.reversed())) == nil)
        _ = try await ledger.prune(olderThan: record.notAfter.addingTimeInterval(1))
        #expect(try await ledger.knownMessage(digest: digest) == nil, "expired records are pruned")
    }

    @Test(arguments: LedgerBackend.allCases) func resumeClaimsAgainUnderTheSameKeyAndCounts(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open(maximumResumes: 2)
        let k = key(2)
        let first = try await Self.halt(ledger, k)
        let resumed = try await ledger.resume(
            k, by: "alice", note: "approval renewed", owner: "w3",
            events: [event("resumed-1", k, type: "breakglass.restoration.resumed")])
        #expect(resumed.state == .claimed)
        #expect(resumed.epoch == first.epoch + 1)
        #expect(resumed.resumeCount == 1)
        #expect(resumed.takeoverID == "CASE-2/tnt-1#2")
        let takeover = try #require(try await ledger.takeover(id: first.takeoverID))
        #expect(takeover.resolution == .resumed)
        #expect(takeover.resolvedBy == "alice")
        #expect(takeover.note == "approval renewed")
        // The old holder's epoch is fenced.
        let stale = await #expect(throws: LedgerError.self) {
            _ = try await ledger.passGate(first, approvalRefs: [], checkedAt: Date())
        }
        #expect(stale?.code == .fenced)
        // Halt again, resume again, halt again: the limit (2) refuses a third resume.
        try await ledger.decide(resumed, .halted(Self.record))
        let second = try await ledger.resume(k, by: "alice", note: "again", owner: "w3")
        try await ledger.decide(second, .halted(Self.record))
        let limit = await #expect(throws: LedgerError.self) {
            _ = try await ledger.resume(k, by: "alice", note: "third", owner: "w3")
        }
        #expect(limit?.code == .resumeLimit)
        #expect(try await ledger.takeovers(for: k, openOnly: false, limit: 100).count == 3)
        #expect(try await ledger.events(for: k).map(\.message.eventID).contains("resumed-1"))
    }

    @Test(arguments: LedgerBackend.allCases) func aHaltedDecisionIsNeverServedStaleAfterAnotherProcessResumedIt(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let worker = try await fixture.open()
        let person = try await fixture.open()
        let k = key(8)
        _ = try await Self.halt(worker, k)
        #expect(try await worker.decision(for: k)?.state == .halted)
        _ = try await person.resume(k, by: "alice", note: "renewed", owner: "w2")
        #expect(try await worker.decision(for: k) == nil, "halted is not cached: the resume is seen at once")
    }

    @Test(arguments: LedgerBackend.allCases) func anEscalatedHaltResumesOnlyAfterReconciliation(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(3)
        var escalated = Self.record
        escalated.escalate = true
        escalated.stage = .postSubmit
        _ = try await Self.halt(ledger, k, record: escalated)
        let refused = await #expect(throws: LedgerError.self) {
            _ = try await ledger.resume(k, by: "bob", note: "retry", owner: "w")
        }
        #expect(refused?.code == .escalatedHalt)
        #expect(try await ledger.entry(for: k)?.state == .halted)
        let claim = try await ledger.resume(
            k, by: "bob", note: "console shows no grant", owner: "w", afterReconciliation: true)
        #expect(claim.state == .claimed)
        #expect(try await ledger.entry(for: k)?.escalate == false)
    }

    @Test(arguments: LedgerBackend.allCases) func resolveIsATerminalMarkThatGrantsNothing(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(4)
        let claim = try await Self.halt(ledger, k)
        let decision = try await ledger.resolve(k, by: "carol", note: "handled manually")
        #expect(decision.state == .resolved)
        #expect(try await ledger.entry(for: k)?.confirmationID == nil)
        #expect(try await ledger.takeover(id: claim.takeoverID)?.resolution == .resolved)
        let again = await #expect(throws: LedgerError.self) {
            _ = try await ledger.resume(k, by: "carol", note: "oops", owner: "w")
        }
        #expect(again?.code == .forbiddenTransition)
        let twice = await #expect(throws: LedgerError.self) {
            _ = try await ledger.resolve(k, by: "carol", note: "twice")
        }
        #expect(twice?.code == .forbiddenTransition)
    }

    @Test(arguments: LedgerBackend.allCases) func takeoverActionsNeedAHaltedRow(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        _ = try await ledger.claim(key(5), requestID: "REQ-1", owner: "w").requireClaim()
        for attempt in 0..<2 {
            let error = await #expect(throws: LedgerError.self) {
                if attempt == 0 {
                    _ = try await ledger.resume(key(5), by: "dave", note: "n", owner: "w")
                } else {
                    _ = try await ledger.resolve(key(5), by: "dave", note: "n")
                }
            }
            #expect(error?.code == .forbiddenTransition)
        }
        let missing = await #expect(throws: LedgerError.self) {
            _ = try await ledger.resolve(key(6), by: "dave", note: "n")
        }
        #expect(missing?.code == .notFound)
    }

    @Test(arguments: LedgerBackend.allCases) func revocationIsAMarkBesideTheGrantNotAStepBack(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(7)
        var claim = try await ledger.claim(k, requestID: "REQ-1", owner: "w").requireClaim()
        let early = await #expect(throws: LedgerError.self) {
            try await ledger.recordRevocation(k, result: .revoked, by: "erin", reason: "done")
        }
        #expect(early?.code == .forbiddenTransition)
        claim = try await ledger.passGate(claim, approvalRefs: [], checkedAt: Date())
        claim = try await ledger.beginSubmitting(claim, recheckedAt: Date())
        try await ledger.decide(claim, .granted(confirmationID: "C-1", expiresAt: nil))
        try await ledger.recordRevocation(k, result: .failed, by: "erin", reason: "incident closed")
        try await ledger.recordRevocation(
            k, result: .revoked, by: "erin", reason: "incident closed",
            events: [event("revoked-1", k, type: "breakglass.restoration.revoked")])
        let entry = try #require(try await ledger.entry(for: k))
        #expect(entry.state == .granted)
        #expect(entry.revocation == .revoked)
        #expect(entry.revokedBy == "erin")
        #expect(try await ledger.decision(for: k)?.revocation == .revoked)
        let twice = await #expect(throws: LedgerError.self) {
            try await ledger.recordRevocation(k, result: .revoked, by: "frank", reason: "again")
        }
        #expect(twice?.code == .forbiddenTransition)
    }
}
