import BreakGlassCore
import Foundation
import PropertyBased
import Testing

@Suite("Gate properties")
struct GatePropertyTests {
    /// Breaking any single condition of a valid snapshot never passes the gate, and the contract code of that
    /// condition is among the reasons.
    @Test func breakingAnySingleConditionNeverPasses() async {
        await propertyCheck(
            count: 2_000, input: Gen.int(in: 0...(GateMutation.all.count - 1)), Gen.int(in: 1...10_000)
        ) { index, p in
            let mutation = GateMutation.all[index]
            var fixture = GateFixture()
            mutation.apply(&fixture, p)
            let result = fixture.evaluate()
            #expect(!result.passed, "\(mutation.name) with p=\(p) passed the gate")
            #expect(result.codes.contains(mutation.expected), "\(mutation.name) with p=\(p): \(result.findings)")
        }
    }

    /// Breaking two conditions (on different approvals where they touch approvals) reports both codes: every
    /// failing reason, not just the first.
    @Test func breakingTwoConditionsReportsBoth() async {
        let count = GateMutation.all.count
        await propertyCheck(
            count: 1_000, input: Gen.int(in: 0...(count - 1)), Gen.int(in: 0...(count - 1)), Gen.int(in: 1...10_000)
        ) { i, j, p in
            guard i != j else { return }
            // Removing an approval shifts the indices the other mutation uses: apply removals last.
            let dropping: Set<String> = ["case lacks a required role", "message lacks a required role"]
            var pair = [GateMutation.all[i], GateMutation.all[j]]
            if dropping.contains(pair[0].name) { pair.reverse() }
            // A missing record (or a moved clock) hides the rules over that record; such pairs are not independent.
            let hiding: Set<String> = [
                "case does not exist", "case answer for another case", "a source is unavailable",
                "tenant does not exist", "incident does not exist", "identity record missing",
                "IAM has no admin state", "not_after passed",
            ]
            var fixture = GateFixture()
            pair[0].apply(&fixture, p)
            pair[1].apply(&fixture, p + 1)
            let result = fixture.evaluate()
            #expect(!result.passed, "\(pair[0].name) + \(pair[1].name) passed")
            // "Two approvals by one person" touches two of the three approvals: unlinking one of them (dropping it
            // or changing its id in the message) legitimately removes the shared approver.
            let names = Set(pair.map(\.name))
            let unlinking: Set<String> = dropping.union(["message approval id unknown"])
            let entangled = names.contains("two approvals by one person") && !names.isDisjoint(with: unlinking)
            if !hiding.contains(pair[0].name), !hiding.contains(pair[1].name), !entangled {
                for mutation in pair {
                    #expect(
                        result.codes.contains(mutation.expected),
                        "\(pair[0].name) + \(pair[1].name) (p=\(p)): \(result.findings)")
                }
            }
        }
    }

    /// Harmless variations of a valid snapshot still pass: extra approved scopes, shorter durations, expired past
    /// sessions, approvals and verification anywhere inside their allowed windows.
    @Test func harmlessVariationsStillPass() async {
        await propertyCheck(
            count: 1_000, input: Gen.int(in: 1...120), Gen.int(in: 0...10), Gen.int(in: 60...40_000),
            Gen.int(in: 60...80_000)
        ) { duration, oldSessions, approvalAge, identityAge in
            var f = GateFixture()
            f.request.privilege.durationMinutes = duration
            f.request.privilege.scopes = Array(f.request.privilege.scopes.prefix(duration % 3))
            f.caseRecord.approvedScopes.append("extra.\(duration)")
            for n in 0..<oldSessions {
                f.iam.activeBreakglassSessions.append(
                    .init(grantRef: "GR-\(n)", expiresAt: f.now.addingTimeInterval(-31 - Double(n * 60))))
            }
            for i in f.caseRecord.approvals.indices {
                f.caseRecord.approvals[i].approvedAt = f.now.addingTimeInterval(-Double(approvalAge))
                f.caseRecord.approvals[i].expiresAt = i == 0 ? nil : f.now.addingTimeInterval(Double(approvalAge))
            }
            f.identity.verifiedAt = f.now.addingTimeInterval(-Double(identityAge))
            let result = f.evaluate()
            #expect(result.passed, "\(result.findings)")
        }
    }
}
