import BreakGlassCore
@testable import BreakGlassLedger
import Foundation
import Testing

@Suite("Ledger conformance: outbox and relay (SQLite file and PostgreSQL, in-memory publisher)")
struct OutboxRelayTests {
    static func relayConfiguration(poll: Duration = .seconds(3600)) -> OutboxRelay.Configuration {
        var configuration = OutboxRelay.Configuration(owner: "relay-\(UUID().uuidString.prefix(6))")
        configuration.pollInterval = poll
        configuration.initialBackoff = .milliseconds(20)
        configuration.maximumBackoff = .milliseconds(200)
        return configuration
    }

    /// Decides `count` keys, each with an outcome and an evidence-ready event (in that order).
    static func decideKeys(_ ledger: any Ledger, _ range: Range<Int>) async throws {
        for index in range {
            let k = key(index)
            var claim = try await ledger.claim(k, requestID: "REQ-\(index)", owner: "w").requireClaim()
            claim = try await ledger.passGate(claim, approvalRefs: [], checkedAt: Date())
            claim = try await ledger.beginSubmitting(claim, recheckedAt: Date())
            try await ledger.decide(
                claim, .granted(confirmationID: "C-\(index)", expiresAt: nil),
                events: [
                    event("outcome-\(index)", k),
                    event("evidence-\(index)", k, type: "breakglass.restoration.evidence-ready"),
                ])
        }
    }

    /// Runs the relay as a child task for the duration of `body`.
    static func withRelay(
        _ relay: OutboxRelay, _ body: () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await relay.loop() }
            defer { group.cancelAll() }
            try await body()
        }
    }

    @Test(arguments: LedgerBackend.allCases) func pendingEventsArePublishedInOrderAndMarkedOnlyAfterSuccess(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.decideKeys(ledger, 0..<5)
        let publisher = InMemoryEventPublisher()
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: Self.relayConfiguration())
        #expect(await relay.round() == .drained)
        let ids = publisher.published.map(\.eventID)
        #expect(ids == (0..<5).flatMap { ["outcome-\($0)", "evidence-\($0)"] })
        #expect(try await ledger.pendingEvents(limit: 100).isEmpty)
        #expect(await relay.round() == .drained)
        #expect(publisher.published.count == 10, "nothing published twice once marked")
    }

    @Test(arguments: LedgerBackend.allCases) func aDownPublisherLosesNothingAndTheRelayBacksOffThenCatchesUp(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.decideKeys(ledger, 0..<3)
        let publisher = InMemoryEventPublisher(failing: true)
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: Self.relayConfiguration())
        try await Self.withRelay(relay) {
            try await eventually("several failed attempts") { publisher.failedAttempts >= 6 }
            #expect(try await ledger.pendingEvents(limit: 100).count == 6, "nothing marked while the broker is down")
            // Per key order: the evidence-ready event is never tried before its outcome went through.
            #expect(publisher.published.isEmpty)
            // More decisions while down.
            try await Self.decideKeys(ledger, 3..<5)
            publisher.setFailing(false)
            try await eventually("everything published after recovery") {
                try await ledger.pendingEvents(limit: 100).isEmpty
            }
        }
        let ids = publisher.published.map(\.eventID)
        #expect(Set(ids).count == 10)
        for index in 0..<5 {
            let outcome = try #require(ids.firstIndex(of: "outcome-\(index)"))
            let evidence = try #require(ids.firstIndex(of: "evidence-\(index)"))
            #expect(outcome < evidence)
        }
        let attempts = try await ledger.events(for: key(0)).map(\.attempts)
        #expect(attempts.allSatisfy { $0 >= 1 })
    }

    @Test(arguments: LedgerBackend.allCases) func aFailingKeyKeepsItsOrderAndDoesNotHoldOtherKeysBack(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.decideKeys(ledger, 0..<3)
        let publisher = InMemoryEventPublisher()
        publisher.setFailing(keys: [key(1)])
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: Self.relayConfiguration())
        #expect(await relay.round() == .failed)
        #expect(publisher.published.map(\.eventID) == ["outcome-0", "evidence-0", "outcome-2", "evidence-2"])
        #expect(publisher.failedAttempts == 1, "evidence-1 is not tried before outcome-1 went through")
        #expect(try await ledger.pendingEvents(limit: 100).map(\.message.eventID) == ["outcome-1", "evidence-1"])
        publisher.setFailing(keys: [])
        #expect(await relay.round() == .drained)
        #expect(publisher.published.suffix(2).map(\.eventID) == ["outcome-1", "evidence-1"])
    }

    @Test(arguments: LedgerBackend.allCases) func backoffBoundsTheRetryRate(_ backend: LedgerBackend) async throws {
        // Without back-off a failing publisher would be hit thousands of times per second.
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.decideKeys(ledger, 0..<1)
        let publisher = InMemoryEventPublisher(failing: true)
        var configuration = Self.relayConfiguration()
        configuration.initialBackoff = .milliseconds(50)
        configuration.maximumBackoff = .milliseconds(400)
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: configuration)
        let started = ContinuousClock.now
        try await Self.withRelay(relay) {
            try await eventually("five attempts") { publisher.failedAttempts >= 5 }
        }
        // Delays before attempts 2…5: at least 0.8 × (50 + 100 + 200 + 400) ms.
        #expect(ContinuousClock.now - started >= .milliseconds(600))
    }

    @Test(arguments: LedgerBackend.allCases) func theRelayWakesPromptlyWhenThisProcessWritesEvents(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let publisher = InMemoryEventPublisher()
        // Poll interval of an hour: only the doorbell can wake it within the test's deadline.
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: Self.relayConfiguration())
        try await Self.withRelay(relay) {
            for batch in 0..<3 {
                try await Self.decideKeys(ledger, (batch * 2)..<(batch * 2 + 2))
                try await eventually("batch \(batch) published") { publisher.published.count == (batch + 1) * 4 }
            }
        }
    }

    @Test(arguments: LedgerBackend.allCases) func eventsWrittenByAnotherProcessArePickedUpByPolling(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let relayLedger = try await fixture.open()
        let writer = try await fixture.open()  // its doorbell is not the relay's
        let publisher = InMemoryEventPublisher()
        let relay = OutboxRelay(
            ledger: relayLedger, publisher: publisher, configuration: Self.relayConfiguration(poll: .milliseconds(50)))
        try await Self.withRelay(relay) {
            try await Self.decideKeys(writer, 0..<2)
            try await eventually("published by polling") { publisher.published.count == 4 }
        }
    }

    @Test(arguments: LedgerBackend.allCases) func oneRelayAtATimeAcrossProcesses(_ backend: LedgerBackend) async throws
    {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let first = try await fixture.open()
        let second = try await fixture.open()
        #expect(try await first.acquireRelayLease(owner: "r1", duration: .seconds(15)))
        #expect(try await !second.acquireRelayLease(owner: "r2", duration: .seconds(15)))
        #expect(try await first.acquireRelayLease(owner: "r1", duration: .seconds(15)), "renewal")
        fixture.clock.advance(seconds: 16)
        #expect(try await second.acquireRelayLease(owner: "r2", duration: .seconds(15)), "expired: taken over")
        try await second.releaseRelayLease(owner: "r2")
        #expect(try await first.acquireRelayLease(owner: "r1", duration: .seconds(15)))
    }

    @Test(arguments: LedgerBackend.allCases) func theSameEventIDIsStoredOnce(_ backend: LedgerBackend) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = key(1)
        let claim = try await ledger.claim(k, requestID: "REQ-1", owner: "w").requireClaim()
        try await ledger.decide(
            claim, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)),
            events: [event("same", k), event("same", k)])
        #expect(try await ledger.pendingEvents(limit: 100).count == 1)
    }

    @Test(arguments: LedgerBackend.allCases) func pruneRemovesOnlyPublishedEventsOfKeysDecidedForGood(
        _ backend: LedgerBackend
    ) async throws {
        guard let fixture = try await LedgerBackendFixture.make(backend) else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        try await Self.decideKeys(ledger, 0..<2)  // granted, 4 events
        let halted = try await ledger.claim(key(10), requestID: "REQ-10", owner: "w").requireClaim()
        try await ledger.decide(
            halted, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)),
            events: [event("halted-10", key(10))])
        _ = try await ledger.claim(key(11), requestID: "REQ-11", owner: "w").requireClaim()  // undecided
        let publisher = InMemoryEventPublisher()
        let relay = OutboxRelay(ledger: ledger, publisher: publisher, configuration: Self.relayConfiguration())
        #expect(await relay.round() == .drained)
        try await Self.decideKeys(ledger, 2..<3)  // decided, events pending (not published)

        fixture.clock.advance(seconds: 86_400 * 40)
        let result = try await ledger.prune(olderThan: ledger.clock().addingTimeInterval(-86_400 * 30))
        #expect(result.deletedEvents == 4, "the published events of keys 0 and 1")
        #expect(result.keptPendingEvents == 2)
        #expect(try await ledger.events(for: key(10)).count == 1, "halted is not decided for good")
        #expect(try await ledger.events(for: key(2)).count == 2, "pending events are never pruned")
        // Rows stay: dedup outlives any redelivery.
        #expect(try await ledger.decision(for: key(0))?.state == .granted)
        #expect(try await ledger.entry(for: key(11))?.state == .claimed)
        #expect(try await ledger.stats().byState.values.reduce(0, +) == 5)
    }

    @Test func backoffDoublesUpToTheMaximumAndResets() {
        var backoff = RelayBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<6).map { _ in backoff.nextDelay(using: &generator) }
        let upper: [Duration] = [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ]
        for (delay, bound) in zip(delays, upper) {
            #expect(delay <= bound)
            #expect(delay >= bound * 0.8)
        }
        backoff.reset()
        #expect(backoff.nextDelay(using: &generator) <= .milliseconds(100))
    }
}
