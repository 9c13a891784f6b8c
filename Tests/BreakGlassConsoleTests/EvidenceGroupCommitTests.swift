import BreakGlassCore
import BreakGlassEvidence
import Foundation
import Testing

/// Issue 21: bundles committed together share one sync, and each is still a whole, sealed, verifiable bundle.
@Suite("Evidence group commit")
struct EvidenceGroupCommitTests {
    let key = EvidenceKey.generate(keyID: "evidence-test").key

    @Test("many concurrent commits: every bundle whole and verifiable, nothing left incoming")
    func concurrentCommitsAreEachWhole() async throws {
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        let ids = (0..<60).map { "CASE-1_tnt-1_20261202T000000000Z_\(String(format: "%06d", $0))" }
        let locations = try await withThrowingTaskGroup(of: EvidenceLocation.self) { group in
            for id in ids {
                group.addTask { try await store.commit(try EvidenceTestSupport.sampleBundle(id: id)) }
            }
            return try await group.reduce(into: [EvidenceLocation]()) { $0.append($1) }
        }
        #expect(Set(locations.map(\.bundleID)) == Set(ids))
        let verifier = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw)
        for location in locations {
            let result = verifier.verify(bundle: URL(fileURLWithPath: location.path))
            #expect(result.isValid, "\(location.bundleID): \(result.problems)")
            #expect(result.manifestSHA256 == location.manifestSHA256)
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: store.root.path)
        #expect(!names.contains { $0.hasPrefix(".incoming-") })
        #expect(names.count == ids.count)
    }

    @Test("a bundle that cannot be written fails alone; the others of its batch are written")
    func aFailingBundleFailsAlone() async throws {
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        let taken = "CASE-1_tnt-1_20261202T000000000Z_taken0"
        _ = try store.write(try EvidenceTestSupport.sampleBundle(id: taken))
        let ids = [taken] + (1...8).map { "CASE-1_tnt-1_20261202T000000000Z_free0\($0)" }
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for id in ids {
                group.addTask {
                    do {
                        _ = try await store.commit(try EvidenceTestSupport.sampleBundle(id: id))
                        return (id, true)
                    } catch {
                        return (id, false)
                    }
                }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(results[taken] == false, "a bundle id already written is refused")
        #expect(ids.dropFirst().allSatisfy { results[$0] == true })
        let names = try FileManager.default.contentsOfDirectory(atPath: store.root.path)
        #expect(!names.contains { $0.hasPrefix(".incoming-") })
    }
}
