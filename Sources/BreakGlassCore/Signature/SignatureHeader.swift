public import Foundation

/// The `x-breakglass-signature` header (contract §3): `ed25519;key=<key id>;sig=<base64 of 64 bytes>`.
public struct SignatureHeader: Sendable, Hashable {
    public static let name = "x-breakglass-signature"
    public static let algorithm = "ed25519"

    public let keyID: String
    public let signature: Data

    public init(keyID: String, signature: Data) {
        self.keyID = keyID
        self.signature = signature
    }

    /// Parses the header strictly. Optional spaces around `;` are tolerated; anything else malformed is
    /// `SIGNATURE_INVALID` (the contract's code for a header that cannot be a valid signature).
    public init(parsing value: String) throws(Rejection) {
        guard value.utf8.count <= 512 else { throw Rejection(.signatureInvalid, "\(Self.name): longer than 512 bytes") }
        let parts = value.split(separator: ";", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 3 else {
            throw Rejection(.signatureInvalid, "\(Self.name): must be ed25519;key=<key id>;sig=<base64>")
        }
        guard parts[0] == Self.algorithm else {
            throw Rejection(.signatureInvalid, "\(Self.name): algorithm must be ed25519")
        }
        guard parts[1].hasPrefix("key="), parts[2].hasPrefix("sig=") else {
            throw Rejection(.signatureInvalid, "\(Self.name): must be ed25519;key=<key id>;sig=<base64>")
        }
        let keyID = String(parts[1].dropFirst(4))
        guard Identifier.isValid(keyID) else {
            throw Rejection(.signatureInvalid, "\(Self.name): key id must match the identifier pattern")
        }
        guard let signature = Data(base64Encoded: String(parts[2].dropFirst(4))), signature.count == 64 else {
            throw Rejection(.signatureInvalid, "\(Self.name): sig must be the standard base64 of 64 bytes")
        }
        self.init(keyID: keyID, signature: signature)
    }

    /// The header value.
    public var value: String { "\(Self.algorithm);key=\(keyID);sig=\(signature.base64EncodedString())" }
}
