public import Foundation

/// Signs request bodies for tools that enqueue (the escalation side, the demo, load tests).
///
/// A signing key is the standard base64 of the raw 32-byte Ed25519 private seed (contract §3).
public struct RequestSigner: Sendable {
    public let keyID: String
    /// The private key; never printed.
    private let seed: Ed25519Seed

    private init(keyID: String, seed: Ed25519Seed) {
        self.keyID = keyID
        self.seed = seed
    }

    public init(keyID: String, seedBase64: String) throws(KeyFileError) {
        guard Identifier.isValid(keyID) else { throw .invalid("key id must match the identifier pattern") }
        guard let seed = Ed25519Seed(base64: seedBase64) else {
            throw .invalid("signing key must be the standard base64 of a 32-byte Ed25519 seed")
        }
        self.init(keyID: keyID, seed: seed)
    }

    /// The raw 32-byte public key, for a trusted-keys file.
    public var publicKeyRaw: Data { seed.publicKeyRaw }

    /// The `x-breakglass-signature` header for these exact body bytes.
    public func signature<Bytes: DataProtocol>(for body: Bytes) -> SignatureHeader {
        SignatureHeader(keyID: keyID, signature: seed.signature(for: body))
    }

    /// A new random signing key.
    public static func generate(keyID: String) -> (signer: RequestSigner, seedBase64: String) {
        let (seed, base64) = Ed25519Seed.generate()
        return (RequestSigner(keyID: keyID, seed: seed), base64)
    }
}
