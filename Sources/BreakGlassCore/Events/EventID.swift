import Crypto
import Foundation

/// Deterministic event ids: the same logical event always gets the same id, so a republished event can be
/// dropped by its consumers (contract §5).
///
/// The id is a name-based UUID (version 8, RFC 9562) over SHA-256 of the event type, the subject and a
/// discriminator naming which occurrence of that type it is (a request id, an attempt, a bundle id, ...).
public enum EventID {
    public static func derive(type: EventType, subject: String, discriminator: String) -> String {
        var hasher = SHA256()
        for part in ["breakglass-event-v1", type.rawValue, subject, discriminator] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: [0])
        }
        var bytes = Array(hasher.finalize().prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80  // version 8
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant
        let hex = bytes.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        let chars = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(chars[$0]) }.joined(separator: "-")
    }
}
