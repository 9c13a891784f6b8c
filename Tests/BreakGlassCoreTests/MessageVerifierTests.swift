import BreakGlassCore
import Foundation
import Testing

@Suite("Signature and verification order (contract §3)")
struct MessageVerifierTests {
    let f = RequestFixtures.self

    func verdict(
        _ body: Data, _ header: String?, now: Date = RequestFixtures.now
    ) -> Result<RestorationRequest, Rejection> {
        do {
            return .success(try f.verifier.verify(body: body, signatureHeader: header, now: now))
        } catch {
            return .failure(error)
        }
    }

    func code(_ body: Data, _ header: String?, now: Date = RequestFixtures.now) -> ReasonCode? {
        if case .failure(let rejection) = verdict(body, header, now: now) { return rejection.code }
        return nil
    }

    @Test func acceptsASignedValidMessage() throws {
        let body = f.validBody
        let request = try f.verifier.verify(body: body, signatureHeader: f.header(for: body), now: f.now)
        #expect(request.caseID == "CASE-88121")
    }

    @Test func missingHeader() {
        #expect(code(f.validBody, nil) == .signatureMissing)
        #expect(code(f.validBody, "") == .signatureMissing)
    }

    @Test func bodyChangedByOneByteAfterSigning() {
        let header = f.header(for: f.validBody)
        var body = f.validBody
        let index = body.firstRange(of: Data("Acme".utf8))!.lowerBound
        body[index] = UInt8(ascii: "B")
        #expect(code(body, header) == .signatureInvalid)
    }

    @Test func wrongKeyUnderATrustedKeyID() {
        let header = RequestFixtures.otherSigner.signature(for: f.validBody).value
        #expect(code(f.validBody, header) == .signatureInvalid)
    }

    @Test func unknownKeyID() throws {
        let stranger = try RequestSigner(
            keyID: "someone-else", seedBase64: Data(repeating: 7, count: 32).base64EncodedString())
        #expect(code(f.validBody, stranger.signature(for: f.validBody).value) == .unknownKey)
    }

    @Test(
        "malformed headers",
        arguments: [
            "ed25519", "rsa;key=escalation-2026;sig=AAAA", "ed25519;sig=AAAA;key=escalation-2026",
            "ed25519;key=;sig=AAAA", "ed25519;key=escalation-2026;sig=not base64!",
            "ed25519;key=escalation-2026;sig=AAAA",
            "ed25519;key=escalation-2026", "ed25519;key=esc alation;sig=AAAA", "ed25519;key=escalation-2026;sig=",
        ])
    func malformedHeader(header: String) {
        #expect(code(f.validBody, header) == .signatureInvalid)
    }

    @Test func toleratesSpacesAroundSeparators() throws {
        let header = f.header(for: f.validBody).replacingOccurrences(of: ";", with: "; ")
        #expect(throws: Never.self) { try f.verifier.verify(body: f.validBody, signatureHeader: header, now: f.now) }
    }

    @Test func signatureIsCheckedBeforeTheBodyIsRead() {
        // An unparseable body with a bad signature is a signature failure, not a schema failure.
        let garbage = Data("{not json".utf8)
        #expect(code(garbage, nil) == .signatureMissing)
        #expect(code(garbage, f.header(for: f.validBody)) == .signatureInvalid)
        // Signed garbage is a schema failure.
        #expect(code(garbage, f.header(for: garbage)) == .schemaInvalid)
    }

    @Test func sizeIsCheckedFirst() {
        let huge = Data(repeating: 0x20, count: 70_000)
        #expect(code(huge, nil) == .payloadTooLarge)
    }

    @Test func expiredNotAfter() {
        let body = f.validBody
        let header = f.header(for: body)
        #expect(code(body, header, now: Timestamp.parse("2026-11-25T19:20:00Z")!) == .requestExpired)
        #expect(code(body, header, now: Timestamp.parse("2026-11-26T00:00:00Z")!) == .requestExpired)
        #expect(code(body, header, now: Timestamp.parse("2026-11-25T19:19:59Z")!) == nil)
    }

    @Test func trustedKeysFileRoundTrip() throws {
        let document = f.trustedKeys.jsonDocument()
        let reloaded = try TrustedKeys(json: document)
        #expect(reloaded.keyIDs == ["escalation-2026"])
        #expect(throws: KeyFileError.self) { try TrustedKeys(json: Data(#"{"k":"AAAA"}"#.utf8)) }
        #expect(throws: KeyFileError.self) { try TrustedKeys(json: Data("{}".utf8)) }
        #expect(throws: KeyFileError.self) { try TrustedKeys(json: Data("[".utf8)) }
    }

    @Test func headerRoundTrip() throws {
        let header = f.signer.signature(for: f.validBody)
        let parsed = try SignatureHeader(parsing: header.value)
        #expect(parsed == header)
        #expect(header.value.hasPrefix("ed25519;key=escalation-2026;sig="))
    }
}
