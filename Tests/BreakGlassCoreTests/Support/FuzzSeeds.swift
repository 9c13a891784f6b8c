import BreakGlassCore
import Foundation

/// The seed corpus of the libFuzzer target (`fuzz/corpus/`) and of the deterministic mutation test, built from the
/// test fixtures: valid signed messages, every bad body of ``RequestDecoderTests`` signed (so the decoder is
/// reached), and the header cases of ``MessageVerifierTests``.
///
/// A fuzz input is the header value, a newline, then the body (an empty first line means no header). The fuzz
/// target trusts the same key as ``RequestFixtures`` (`escalation-2026`, seed of 32 bytes of 7).
enum FuzzSeeds {
    struct Seed {
        let name: String
        let header: String?
        let body: Data
        /// The verdict ``RequestFixtures/verifier`` gives at ``RequestFixtures/now``: `nil` for accepted.
        let expected: ReasonCode?

        /// The bytes of the seed file.
        var fuzzInput: Data { Data((header ?? "").utf8) + Data([0x0A]) + body }
    }

    /// Bodies larger than this are left out of the fuzz corpus (the run uses `-max_len` of the same size, so the
    /// fuzzer stays fast); the size rule is a single comparison, covered by the unit tests.
    static let maximumFuzzInput = 8_192

    static func all() -> [Seed] {
        let f = RequestFixtures.self
        let valid = f.validBody
        let compact = f.body(f.validObject())
        var seeds: [Seed] = [
            Seed(name: "valid-signed", header: f.header(for: valid), body: valid, expected: nil),
            Seed(name: "valid-compact-signed", header: f.header(for: compact), body: compact, expected: nil),
            Seed(
                name: "valid-spaced-header", header: f.header(for: valid).replacingOccurrences(of: ";", with: " ; "),
                body: valid, expected: nil),
            Seed(name: "valid-no-header", header: nil, body: valid, expected: .signatureMissing),
            Seed(
                name: "valid-stale-signature", header: f.header(for: compact), body: valid, expected: .signatureInvalid),
            Seed(
                name: "valid-other-key", header: f.otherSigner.signature(for: valid).value, body: valid,
                expected: .signatureInvalid),
            Seed(
                name: "valid-unknown-key",
                header: f.header(for: valid).replacingOccurrences(
                    of: "key=escalation-2026", with: "key=someone-else"), body: valid, expected: .unknownKey),
        ]
        let expired = f.mutated("not_after", .set("2026-11-25T18:25:00Z"))
        seeds.append(
            Seed(name: "expired-signed", header: f.header(for: expired), body: expired, expected: .requestExpired))
        let malformed = [
            "ed25519", "rsa;key=escalation-2026;sig=AAAA", "ed25519;sig=AAAA;key=escalation-2026",
            "ed25519;key=;sig=AAAA", "ed25519;key=escalation-2026;sig=not base64!",
            "ed25519;key=escalation-2026;sig=AAAA",
            "ed25519;key=escalation-2026", "ed25519;key=esc alation;sig=AAAA", "ed25519;key=escalation-2026;sig=",
        ]
        for (index, header) in malformed.enumerated() {
            seeds.append(
                Seed(name: "malformed-header-\(index)", header: header, body: valid, expected: .signatureInvalid))
        }
        for (name, body, code, _) in RequestDecoderTests.badBodies where body.count < maximumFuzzInput {
            seeds.append(Seed(name: "bad-body-" + slug(name), header: f.header(for: body), body: body, expected: code))
        }
        return seeds
    }

    /// `fuzz/corpus/` in the source tree.
    static let corpusDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz/corpus", isDirectory: true)

    static func fileName(_ seed: Seed, index: Int) -> String {
        String(format: "%03d-", index) + seed.name
    }

    private static func slug(_ name: String) -> String {
        String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
