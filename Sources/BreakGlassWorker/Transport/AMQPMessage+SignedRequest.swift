public import BreakGlassAMQP
public import BreakGlassCore
import Foundation

extension AMQPMessage {
    /// An approved-restoration request as contract §1 and §3 want it on the wire: persistent,
    /// `content_type` application/json, `message_id` = the body's `request_id` (when it has a string one), and
    /// `x-breakglass-signature` over the exact body bytes.
    public static func signedRequest(body: [UInt8], signer: RequestSigner) -> AMQPMessage {
        var requestID: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] {
            requestID = object["request_id"] as? String
        }
        let header = signer.signature(for: body)
        return AMQPMessage(
            body: body,
            properties: .persistent(
                contentType: "application/json", messageID: requestID,
                headers: [SignatureHeader.name: .string(header.value)]))
    }
}
