import BreakGlassAMQP
import BreakGlassWorker
import BreakGlassCore
import Foundation
import Testing

@Suite struct SignedRequestMessageTests {
    @Test func carriesAVerifiableSignatureAndTheRequestID() throws {
        let (signer, _) = RequestSigner.generate(keyID: "escalation-test")
        let body = Array(#"{"schema":"breakglass.restoration.approved/v1","request_id":"REQ-2026-000123"}"#.utf8)
        let message = AMQPMessage.signedRequest(body: body, signer: signer)
        #expect(message.body == body)
        #expect(message.properties.deliveryMode == 2)
        #expect(message.properties.contentType == "application/json")
        #expect(message.properties.messageID == "REQ-2026-000123")
        let value = try #require(message.properties.headers[SignatureHeader.name]?.stringValue)
        let header = try SignatureHeader(parsing: value)
        #expect(header.keyID == "escalation-test")
        let keys = TrustedKeys(raw: ["escalation-test": signer.publicKeyRaw])
        #expect(keys.isValidSignature(header.signature, for: body, keyID: "escalation-test"))
        #expect(!keys.isValidSignature(header.signature, for: body + [0x20], keyID: "escalation-test"))
    }

    @Test func bodyWithoutRequestIDIsStillSignedButHasNoMessageID() {
        let (signer, _) = RequestSigner.generate(keyID: "k1")
        let message = AMQPMessage.signedRequest(body: Array("not json".utf8), signer: signer)
        #expect(message.properties.messageID == nil)
        #expect(message.properties.headers[SignatureHeader.name] != nil)
    }
}
