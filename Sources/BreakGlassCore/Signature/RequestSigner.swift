import Crypto
public import Foundation

/// Signs request bodies for tools that enqueue (the escalation side, the demo, load tests).
///
/// A signing key is the standard base64 of the raw 32-byte Ed25519 private seed (contract §3).
public struct RequestSigner: Sendable {
    public let keyID: String
    /// The raw 32-byte seed; never printed.
    private let seed: Data

    private init(keyID: String, seed: Data) {
        self.keyID = keyID
        self.seed = seed
    }

    private var privateKey: Curve25519.Signing.PrivateKey {
        // The seed was validated when the signer was made.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// Reads a seed file (base64 of 32 bytes, surrounding whitespace ignored).
    public init(keyID: String, seedFile url: URL) throws(KeyFileError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(url.path) }
        try self.init(keyID: keyID, seedBase64: String(decoding: data, as: UTF8.self))
    }

    public init(keyID: String, seedBase64: String) throws(KeyFileError) {
        guard Identifier.isValid(keyID) else { throw .invalid("key id must match the identifier pattern") }
        guard let seed = Data(base64Encoded: seedBase64.trimmingCharacters(in: .whitespacesAndNewlines)),
            seed.count == 32, (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)) != nil
        else { throw .invalid("signing key must be the standard base64 of a 32-byte Ed25519 seed") }
        self.init(keyID: keyID, seed: seed)
    }

    /// The raw 32-byte public key, for a trusted-keys file.
    public var publicKeyRaw: Data { privateKey.publicKey.rawRepresentation }

    /// The `x-breakglass-signature` header for these exact body bytes.
    public func signature<Bytes: DataProtocol>(for body: Bytes) -> SignatureHeader {
        // Ed25519 signing cannot fail for a valid key; a failure here is a broken crypto library.
        let signature = try! privateKey.signature(for: body)
        return SignatureHeader(keyID: keyID, signature: Data(signature))
    }

    /// A new random signing key.
    public static func generate(keyID: String) -> (signer: RequestSigner, seedBase64: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (RequestSigner(keyID: keyID, seed: key.rawRepresentation), key.rawRepresentation.base64EncodedString())
    }
}
