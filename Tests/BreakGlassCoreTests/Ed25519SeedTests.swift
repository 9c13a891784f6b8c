import BreakGlassCore
import Foundation
import Testing

@Suite("Ed25519 seed (signing keys, contract §3)")
struct Ed25519SeedTests {
    let base64 = Data(repeating: 7, count: 32).base64EncodedString()

    @Test func signsWhatItsPublicKeyVerifies() throws {
        let seed = try #require(Ed25519Seed(base64: "\n  \(base64)\n"))
        let body = Data("body".utf8)
        let signature = seed.signature(for: body)
        #expect(signature.count == 64)
        let keys = TrustedKeys(raw: ["k": seed.publicKeyRaw])
        #expect(keys.isValidSignature(signature, for: body, keyID: "k"))
        #expect(!keys.isValidSignature(signature, for: Data("other".utf8), keyID: "k"))
        // The same seed as the request signer's, so the two agree.
        let signer = try RequestSigner(keyID: "k", seedBase64: base64)
        #expect(signer.publicKeyRaw == seed.publicKeyRaw)
        #expect(signer.signature(for: body).signature == signature)
    }

    @Test(
        "refuses what is not the base64 of a 32-byte seed",
        arguments: [
            "", "AAAA", Data(repeating: 7, count: 31).base64EncodedString(),
            Data(repeating: 7, count: 33).base64EncodedString(),
            "not base64!", Data(repeating: 7, count: 32).base64EncodedString().replacingOccurrences(of: "=", with: ""),
        ])
    func refuses(text: String) {
        #expect(Ed25519Seed(base64: text) == nil)
    }

    @Test func generatedSeedRoundTripsThroughItsText() throws {
        let (seed, text) = Ed25519Seed.generate()
        let reloaded = try #require(Ed25519Seed(base64: text))
        #expect(reloaded.publicKeyRaw == seed.publicKeyRaw)
    }

    @Test func neverShowsTheSeed() throws {
        let seed = try #require(Ed25519Seed(base64: base64))
        let signer = try RequestSigner(keyID: "k", seedBase64: base64)
        var dumped = ""
        dump(seed, to: &dumped)
        dump(signer, to: &dumped)
        for text in [
            String(describing: seed), String(reflecting: seed), "\(signer)", String(reflecting: signer), dumped,
        ] {
            #expect(!text.contains(base64))
            #expect(!text.contains("32 bytes"))
            #expect(!text.contains("- 7"))
        }
    }
}
