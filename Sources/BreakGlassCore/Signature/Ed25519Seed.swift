import Crypto
public import Foundation

/// A validated Ed25519 private key held as its raw 32-byte seed, the form the contract stores signing keys in (§3):
/// the standard base64 of the seed. Shared by ``RequestSigner`` and the console's evidence key.
///
/// The seed never leaves the value: no accessor returns it, and `description`, `debugDescription` and reflection
/// (`dump`, string interpolation of a containing value) show nothing of it.
public struct Ed25519Seed: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The raw 32-byte seed, validated as an Ed25519 private key when the value was made.
    private let raw: Data

    private init(raw: Data) {
        self.raw = raw
    }

    /// The seed from the standard base64 of 32 bytes (surrounding whitespace and newlines ignored); `nil` when the
    /// text is not that, so that each caller throws its own specific error.
    public init?(base64 text: String) {
        guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), raw.count == 32,
            (try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)) != nil
        else { return nil }
        self.init(raw: raw)
    }

    /// A new random seed and the base64 text to store it as.
    public static func generate() -> (seed: Ed25519Seed, base64: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (Ed25519Seed(raw: key.rawRepresentation), key.rawRepresentation.base64EncodedString())
    }

    private var privateKey: Curve25519.Signing.PrivateKey {
        // The seed was validated when the value was made.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: raw)
    }

    /// The raw 32-byte public key (public material).
    public var publicKeyRaw: Data { privateKey.publicKey.rawRepresentation }

    /// The 64-byte Ed25519 signature of `bytes`.
    public func signature<Bytes: DataProtocol>(for bytes: Bytes) -> Data {
        // Ed25519 signing cannot fail for a valid key; a failure here is a broken crypto library.
        Data(try! privateKey.signature(for: bytes))
    }

    public var description: String { "Ed25519Seed(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
