import Crypto
public import Foundation

/// The worker's evidence key: Ed25519, stored like the contract's signing keys (§3) as the standard base64 of the
/// raw 32-byte private seed. It seals each bundle's manifest. The seed is never printed.
public struct EvidenceKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let keyID: String
    private let seed: Data

    private init(keyID: String, seed: Data) {
        self.keyID = keyID
        self.seed = seed
    }

    private var privateKey: Curve25519.Signing.PrivateKey {
        // Validated when the key was made.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// Reads a seed file (base64 of 32 bytes; surrounding whitespace ignored).
    public init(keyID: String, seedFile url: URL) throws(EvidenceError) {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .keyUnreadable(url.path) }
        try self.init(keyID: keyID, seedBase64: String(decoding: data, as: UTF8.self))
    }

    public init(keyID: String, seedBase64: String) throws(EvidenceError) {
        guard !keyID.isEmpty, keyID.count <= 128, keyID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-".contains($0)) })
        else { throw .keyInvalid("key id must match ^[A-Za-z0-9._:-]{1,128}$") }
        guard let seed = Data(base64Encoded: seedBase64.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32,
            (try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)) != nil
        else { throw .keyInvalid("the evidence key must be the standard base64 of a 32-byte Ed25519 seed") }
        self.init(keyID: keyID, seed: seed)
    }

    /// A new random key and its seed (base64) to store.
    public static func generate(keyID: String) -> (key: EvidenceKey, seedBase64: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (EvidenceKey(keyID: keyID, seed: key.rawRepresentation), key.rawRepresentation.base64EncodedString())
    }

    /// The raw 32-byte public key.
    public var publicKeyRaw: Data { privateKey.publicKey.rawRepresentation }

    /// Standard base64 of the raw public key (what `evidence verify --public-key FILE` reads).
    public var publicKeyBase64: String { publicKeyRaw.base64EncodedString() }

    /// The 64-byte Ed25519 signature of `bytes`.
    public func sign(_ bytes: Data) -> Data {
        // Ed25519 signing does not fail with a valid key.
        Data(try! privateKey.signature(for: bytes))
    }

    public var description: String { "EvidenceKey(\(keyID))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID], displayStyle: .struct) }
}
