import BreakGlassCore
import Foundation
import Testing

/// A deterministic, in-CI cousin of the libFuzzer target: ≥ 10,000 inputs mutated from a seed corpus, each
/// signed (so the decoder is reached) or not, each must end in `accepted` or one specific rejection code —
/// never a crash, never an unexpected code.
@Suite("Mutated inputs")
struct MutationCorpusTests {
    /// A small deterministic PRNG (SplitMix64) so every run sees the same inputs.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let tokens: [[UInt8]] = ["{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\ud800", "null", "true", "1e999",
        "-0", "0.5", "1441", "\u{00e9}", "\u{1F600}", "\"\"", " ", "\n", "Z", "T", "+00:00"].map { Array($0.utf8) }

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        let rounds = Int.random(in: 1...4, using: &rng)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else { bytes = tokens.randomElement(using: &rng)!; continue }
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
            case 2: bytes.remove(at: at)
            case 3: bytes.insert(contentsOf: tokens.randomElement(using: &rng)!, at: at)
            case 4: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &rng)))
            case 5:
                let end = min(bytes.count, at + Int.random(in: 1...32, using: &rng))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default: bytes = Array(bytes.prefix(at))
            }
        }
        return bytes
    }

    static func seeds() -> [[UInt8]] {
        let f = RequestFixtures.self
        return [
            Array(f.validBody),
            Array(f.body(f.validObject())),
            Array(f.mutated("privilege.scopes", .set(["a", "b", "c"]))),
            Array(f.mutated("approvals", .set([["role": "security", "approval_id": "A", "approver_id": "B"]]))),
        ]
    }

    @Test func tenThousandMutationsEndInAVerdict() {
        var rng = SplitMix64(state: 0xB4EA_6C1A_55)
        let seeds = Self.seeds()
        let allowedForSigned: Set<ReasonCode> = [.schemaInvalid, .payloadTooLarge, .requestExpired]
        var verdicts: [String: Int] = [:]
        for iteration in 0..<12_000 {
            let input = Self.mutate(seeds[iteration % seeds.count], &rng)
            let body = Data(input)
            // Half signed correctly (reaches the decoder), a quarter with a stale signature, a quarter unsigned.
            let header: String?
            switch iteration % 4 {
            case 0, 1: header = RequestFixtures.header(for: body)
            case 2: header = RequestFixtures.header(for: Data(seeds[0]))
            default: header = nil
            }
            do {
                _ = try RequestFixtures.verifier.verify(body: body, signatureHeader: header, now: RequestFixtures.now)
                verdicts["accepted", default: 0] += 1
            } catch {
                verdicts[error.code.rawValue, default: 0] += 1
                #expect(!error.detail.isEmpty)
                switch iteration % 4 {
                case 0, 1: #expect(allowedForSigned.contains(error.code), "signed input \(iteration) gave \(error.code)")
                case 2: #expect(error.code == .signatureInvalid || body == Data(seeds[0]), "stale signature gave \(error.code)")
                default: #expect(error.code == .signatureMissing)
                }
            }
        }
        #expect(verdicts.values.reduce(0, +) == 12_000)
        #expect((verdicts["accepted"] ?? 0) > 0, "some mutations (whitespace, unknown fields) stay valid")
        #expect((verdicts["SCHEMA_INVALID"] ?? 0) > 1_000)
    }

    @Test func parserNeverTrapsOnRandomBytes() {
        var rng = SplitMix64(state: 42)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<256, using: &rng)
            let bytes = (0..<length).map { _ in
                Self.tokens.randomElement(using: &rng)!.first! &+ UInt8.random(in: 0...1, using: &rng)
            }
            _ = try? JSONParser.parse(bytes)
        }
    }
}
