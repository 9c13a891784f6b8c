import BreakGlassCore
import Foundation
import Testing

/// A deterministic, in-CI cousin of the libFuzzer target (`scripts/fuzz`): 12,000 inputs mutated from its seed
/// corpus (``FuzzSeeds``), body or header, signed or not. Each must end in `accepted` or the one rejection code of
/// the contract that an independent oracle predicts, with a `<path>: <rule>` detail — never a crash, never another code.
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

    static let tokens: [[UInt8]] = [
        "{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\ud800", "null", "true", "1e999",
        "-0", "0.5", "1441", "\u{00e9}", "\u{1F600}", "\"\"", " ", "\n", "Z", "T", "+00:00",
    ].map { Array($0.utf8) }

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        let rounds = Int.random(in: 1...4, using: &rng)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else {
                bytes = tokens.randomElement(using: &rng)!
                continue
            }
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

    /// The contract's rejection codes (§6) that a message itself can earn (`DELIVERY_LIMIT` is the broker's).
    static let rejectionCodes = Set(ReasonCode.allCases.filter { $0.category == .rejected && $0 != .deliveryLimit })

    @Test func twelveThousandMutationsEachEndInTheirExactVerdict() {
        var rng = SplitMix64(state: 0xB4EA_6C1A_55)
        let seeds = FuzzSeeds.all()
        let f = RequestFixtures.self
        var verdicts: [String: Int] = [:]
        let total = 12_000
        for iteration in 0..<total {
            let seed = seeds[(iteration / 5) % seeds.count]
            var body = seed.body
            var header = seed.header
            let expected: ReasonCode?
            switch iteration % 5 {
            case 0, 1:
                // A mutated body with a correct signature: exactly the decoder's verdict, then expiry.
                body = Data(Self.mutate(Array(seed.body), &rng))
                header = f.header(for: body)
                do {
                    let request = try RequestDecoder.decode(Array(body))
                    expected = request.notAfter <= f.now ? .requestExpired : nil
                } catch {
                    expected = error.code
                }
            case 2:
                // A mutated body under the seed's header: the header's own verdict, or a signature that no longer matches.
                body = Data(Self.mutate(Array(seed.body), &rng))
                let headerFails = [ReasonCode.signatureMissing, .signatureInvalid, .unknownKey].contains(seed.expected)
                expected = body == seed.body || headerFails ? seed.expected : .signatureInvalid
            case 3:
                // A mutated header over the seed's body.
                let mutated = String(decoding: Self.mutate(Array((seed.header ?? "").utf8), &rng), as: UTF8.self)
                header = mutated
                let original = seed.header.flatMap { try? SignatureHeader(parsing: $0) }
                if mutated.isEmpty {
                    expected = .signatureMissing
                } else if let parsed = try? SignatureHeader(parsing: mutated) {
                    if parsed == original {
                        expected = seed.expected
                    } else {
                        expected = f.trustedKeys.contains(parsed.keyID) ? .signatureInvalid : .unknownKey
                    }
                } else {
                    expected = .signatureInvalid
                }
            default:
                header = nil
                expected = .signatureMissing
            }
            do {
                _ = try f.verifier.verify(body: body, signatureHeader: header, now: f.now)
                verdicts["accepted", default: 0] += 1
                #expect(
                    expected == nil,
                    "input \(iteration) from \(seed.name) accepted, expected \(expected?.rawValue ?? "-")")
            } catch {
                verdicts[error.code.rawValue, default: 0] += 1
                #expect(error.code == expected, "input \(iteration) from \(seed.name)")
                #expect(Self.rejectionCodes.contains(error.code))
                // Specific, never a generic fallback: `<path>: <rule>`.
                let parts = error.detail.split(separator: ":", maxSplits: 1)
                #expect(parts.count == 2 && !parts[0].isEmpty && parts[1].count > 3, "detail \(error.detail)")
            }
        }
        #expect(verdicts.values.reduce(0, +) == total)
        #expect(Set(verdicts.keys).isSubset(of: Set(Self.rejectionCodes.map(\.rawValue) + ["accepted"])))
        for verdict in [
            "accepted", "SCHEMA_INVALID", "SIGNATURE_MISSING", "SIGNATURE_INVALID", "UNKNOWN_KEY", "REQUEST_EXPIRED",
        ] {
            #expect((verdicts[verdict] ?? 0) > 0, "no input ended in \(verdict)")
        }
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
