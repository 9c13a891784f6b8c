import BreakGlassCore
import Foundation
import Testing

/// The committed seed corpus of the libFuzzer target (`fuzz/corpus/`) is exactly what ``FuzzSeeds`` builds from the
/// fixtures, and every seed gets its expected verdict. `BREAKGLASS_WRITE_FUZZ_SEEDS=1 swift test --filter
/// FuzzSeedCorpusTests` rewrites the directory.
@Suite("Fuzz seed corpus")
struct FuzzSeedCorpusTests {
    @Test func everySeedGetsItsExpectedVerdict() {
        let seeds = FuzzSeeds.all()
        #expect(seeds.count >= 60)
        #expect(Set(seeds.map(\.name)).count == seeds.count)
        for seed in seeds {
            do {
                _ = try RequestFixtures.verifier.verify(
                    body: seed.body, signatureHeader: seed.header, now: RequestFixtures.now)
                #expect(seed.expected == nil, "\(seed.name): accepted")
            } catch {
                #expect(error.code == seed.expected, "\(seed.name)")
            }
        }
    }

    @Test func committedCorpusMatchesTheFixtures() throws {
        let seeds = FuzzSeeds.all()
        let directory = FuzzSeeds.corpusDirectory
        let expected = Dictionary(
            uniqueKeysWithValues: seeds.enumerated().map {
                (FuzzSeeds.fileName($0.element, index: $0.offset), $0.element.fuzzInput)
            })
        if ProcessInfo.processInfo.environment["BREAKGLASS_WRITE_FUZZ_SEEDS"] == "1" {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for (name, data) in expected {
                try data.write(to: directory.appendingPathComponent(name))
            }
        }
        let present = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(
            Set(present) == Set(expected.keys), "fuzz/corpus differs; rewrite it with BREAKGLASS_WRITE_FUZZ_SEEDS=1")
        for (name, data) in expected where present.contains(name) {
            #expect(try Data(contentsOf: directory.appendingPathComponent(name)) == data, "\(name) differs")
        }
    }
}
