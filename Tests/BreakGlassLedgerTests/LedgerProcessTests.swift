import BreakGlassCore
import BreakGlassLedger
import Foundation
import Testing

/// Real processes (`breakglass-lab ledger-stress` drills) on one real SQLite file or one real PostgreSQL database.
@Suite("Ledger conformance across processes: contention, kill -9 (SQLite file and PostgreSQL)", .serialized)
struct LedgerProcessTests {
    struct Summary: Decodable {
        let owner: String
        let won: [Int]
        let in_progress: Int
        let decided: Int
    }

    @Test(
        "N processes claim the same keys at once: exactly one wins each, no SQLITE_BUSY escapes",
        arguments: LedgerBackend.allCases, [2, 4])
    func processesClaimTheSameKeys(_ backend: LedgerBackend, processes: Int) async throws {
        guard BreakGlassBinary.hasLedgerStress() else { return }
        guard let fixture = try await LedgerBackendFixture.make(backend, "procs") else { return }
        defer { fixture.remove() }
        let keys = 300
        let startFile = fixture.directory.appendingPathComponent("go").path
        // Create the schema once, so all children start on the same footing.
        await (try await fixture.open()).shutdown()
        let children = try (0..<processes).map { index in
            try ChildProcess(
                ["ledger-stress", "claim"] + fixture.drillArguments + [
                    "--keys", "\(keys)", "--owner", "P\(index)", "--start-file", startFile,
                ],
                in: fixture.directory, name: "P\(index)")
        }
        _ = FileManager.default.createFile(atPath: startFile, contents: nil)
        var summaries: [Summary] = []
        for child in children {
            let status = try await child.waitForExit()
            #expect(status == 0, "child failed: \(child.stderr)")
            #expect(!child.stderr.contains("SQLITE_BUSY") && !child.stderr.contains("database is locked"))
            let line = try #require(child.stdout.split(separator: "\n").last)
            summaries.append(try JSONDecoder().decode(Summary.self, from: Data(line.utf8)))
        }
        var winners: [Int: [String]] = [:]
        for summary in summaries {
            for index in summary.won { winners[index, default: []].append(summary.owner) }
            #expect(summary.won.count + summary.in_progress + summary.decided == keys)
        }
        #expect(winners.count == keys, "every key won by someone")
        #expect(winners.values.allSatisfy { $0.count == 1 }, "exactly one winner per key")

        let ledger = try await fixture.open()
        #expect(try await ledger.stats().byState[.granted] == keys)
        #expect(try await ledger.pendingEvents(limit: 10_000).count == keys, "one event per grant, none lost")
        if let file = ledger as? SQLiteLedger { #expect(try file.integrityCheck() == "ok") }
        // Every process's request id was recorded for a contended key.
        #expect(
            try await ledger.requestSightings(for: RestorationKey(caseID: "CASE-STRESS-0", tenantID: "tnt-stress"))
                .count == processes)
    }

    @Test(arguments: LedgerBackend.allCases)
    func aProcessKilledInsideATransactionLeavesNothingHalfWrittenAndNoStuckLock(_ backend: LedgerBackend) async throws {
        guard BreakGlassBinary.hasLedgerStress() else { return }
        guard let fixture = try await LedgerBackendFixture.make(backend, "killtxn") else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        let k = RestorationKey(caseID: "CASE-KILL", tenantID: "tnt-1")
        let child = try ChildProcess(
            ["ledger-stress", "hold"] + fixture.drillArguments + ["--key", k.description], in: fixture.directory,
            name: "hold")
        try await eventually(timeout: .seconds(30), "child inside its transaction") {
            guard child.process.isRunning || child.stdout.contains("holding") else {
                throw ChildProcessError(message: "hold drill exited: \(child.stderr)")
            }
            return child.stdout.contains("holding")
        }
        child.kill9()

        #expect(try await ledger.entry(for: k) == nil, "the uncommitted row is gone")
        #expect(try await ledger.pendingEvents(limit: 100).isEmpty, "the uncommitted event is gone")
        if let file = ledger as? SQLiteLedger { #expect(try file.integrityCheck() == "ok") }
        // The write lock died with the process (PostgreSQL: the server ends the dead client's backend and rolls its
        // transaction back): a new claim goes through.
        let claim = try await ledger.claim(k, requestID: "REQ-1", owner: "survivor").requireClaim()
        #expect(claim.epoch == 1)
        await ledger.shutdown()
    }

    @Test(arguments: LedgerBackend.allCases)
    func aRelayKilledBetweenPublishAndMarkRepublishesTheSameIDAndLosesNothing(_ backend: LedgerBackend) async throws {
        guard BreakGlassBinary.hasLedgerStress() else { return }
        guard let fixture = try await LedgerBackendFixture.make(backend, "killrelay") else { return }
        defer { fixture.remove() }
        let ledger = try await fixture.open()
        for index in 0..<3 {
            let k = key(index)
            let claim = try await ledger.claim(k, requestID: "REQ-\(index)", owner: "w").requireClaim()
            try await ledger.decide(
                claim, .halted(TakeoverRecord(reasons: [.caseClosed], stage: .gate, escalate: false)),
                events: [event("halted-\(index)", k, type: "breakglass.restoration.halted")])
        }
        let log = fixture.directory.appendingPathComponent("published.log")
        let child = try ChildProcess(
            ["ledger-stress", "relay"] + fixture.drillArguments + ["--publish-log", log.path, "--hang-after", "2"],
            in: fixture.directory, name: "relay")
        try await eventually(timeout: .seconds(30), "two events published by the doomed relay") {
            guard child.process.isRunning else {
                throw ChildProcessError(message: "relay drill exited: \(child.stderr)")
            }
            return child.stdout.components(separatedBy: "published ").count - 1 >= 2
        }
        child.kill9()
        let before = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(before == ["halted-0", "halted-1"])
        #expect(try await ledger.pendingEvents(limit: 100).count == 3, "published but not marked: still pending")

        // A new relay (its lease taken over once the dead one's expires) republishes with the same ids.
        let publisher = InMemoryEventPublisher()
        var configuration = OutboxRelay.Configuration(owner: "relay-survivor")
        configuration.leaseDuration = .seconds(15)
        configuration.pollInterval = .milliseconds(100)
        let fast = try await fixture.open()
        let relay = OutboxRelay(ledger: fast, publisher: publisher, configuration: configuration)
        // The dead relay's lease row lasts 15 s on the real clock; the fixture's clock jumps past it.
        fixture.clock.advance(seconds: 3600)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await relay.run() }
            defer { group.cancelAll() }
            try await eventually(timeout: .seconds(30), "republished") {
                try await fast.pendingEvents(limit: 100).isEmpty
            }
        }
        #expect(publisher.published.map(\.eventID) == ["halted-0", "halted-1", "halted-2"])
        #expect(Set(before).isSubset(of: Set(publisher.published.map(\.eventID))), "same ids: consumers drop repeats")
    }
}
