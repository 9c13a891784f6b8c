import BreakGlassCore
public import Foundation

/// The worker's evidence key: Ed25519, stored like the contract's signing keys (§3) as the standard base64 of the
/// raw 32-byte private seed. It seals each bundle's manifest. The seed is never printed.
public struct EvidenceKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let keyID: String
    private let seed: Ed25519Seed

    private init(keyID: String, seed: Ed25519Seed) {
        self.keyID = keyID
        self.seed = seed
    }

    /// Reads a seed file (base64 of 32 bytes; surrounding whitespace ignored).
    public init(keyID: String, seedFile url: URL) throws(EvidenceError) {
        guard let data = try? Data(contentsOf: url) else { throw .keyUnreadable(url.path) }
        let text = String(decoding: data, as: UTF8.self)
        try self.init(keyID: keyID, seedBase64: text)
    }

    public init(keyID: String, seedBase64: String) throws(EvidenceError) {
        guard !keyID.isEmpty, keyID.count <= 128,
            keyID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-".contains($0)) })
        else { throw .keyInvalid("key id must match ^[A-Za-z0-9._:-]{1,128}$") }
        guard let seed = Ed25519Seed(base64: seedBase64) else {
            throw .keyInvalid("the evidence key must be the standard base64 of a 32-byte Ed25519 seed")
        }
        self.init(keyID: keyID, seed: seed)
    }

    /// A new random key and its seed (base64) to store.
    public static func generate(keyID: String) -> (key: EvidenceKey, seedBase64: String) {
        let (seed, base64) = Ed25519Seed.generate()
        return (EvidenceKey(keyID: keyID, seed: seed), base64)
    }

    /// The raw 32-byte public key.
    public var publicKeyRaw: Data { seed.publicKeyRaw }

    /// Standard base64 of the raw public key (what `evidence verify --public-key FILE` reads).
    public var publicKeyBase64: String { publicKeyRaw.base64EncodedString() }

    /// The 64-byte Ed25519 signature of `bytes`.
    public func sign(_ bytes: Data) -> Data {
        seed.signature(for: bytes)
    }

    public var description: String { "EvidenceKey(\(keyID))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID], displayStyle: .struct) }
}
