import Crypto
public import Foundation

/// The public keys the worker trusts, by key id (contract §3): a JSON object from key id to the standard
/// base64 of the raw 32-byte Ed25519 public key.
public struct TrustedKeys: Sendable {
    /// Raw 32-byte Ed25519 public keys by key id (validated on the way in).
    private var keys: [String: Data]

    /// Keys as raw 32-byte Ed25519 public keys; entries that are not valid keys are dropped.
    public init(raw: [String: Data] = [:]) {
        keys = raw.filter { (try? Curve25519.Signing.PublicKey(rawRepresentation: $0.value)) != nil }
    }

    public var keyIDs: [String] { keys.keys.sorted() }

    public func contains(_ keyID: String) -> Bool { keys[keyID] != nil }

    /// The raw 32-byte public key for `keyID` (public material).
    public func rawKey(_ keyID: String) -> Data? { keys[keyID] }

    /// Whether `signature` is a valid Ed25519 signature by key `keyID` over `body`.
    public func isValidSignature<Bytes: DataProtocol>(_ signature: Data, for body: Bytes, keyID: String) -> Bool {
        guard let raw = keys[keyID], let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            return false
        }
        return key.isValidSignature(signature, for: body)
    }

    /// Parses the trusted-keys JSON document; the error names the key id and the rule, never key material.
    public init(json: Data) throws(KeyFileError) {
        let value: JSONValue
        do { value = try JSONParser.parse(json) } catch { throw .invalid("trusted keys: not valid JSON") }
        guard case .object(let object) = value else { throw .invalid("trusted keys: must be a JSON object") }
        guard !object.members.isEmpty else { throw .invalid("trusted keys: no key is listed") }
        var keys: [String: Data] = [:]
        for (keyID, entry) in object.members {
            guard Identifier.isValid(keyID) else {
                throw .invalid("trusted keys: a key id does not match the identifier pattern")
            }
            guard case .string(let text) = entry, let raw = Data(base64Encoded: text), raw.count == 32,
                (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
            else {
                throw .invalid("trusted keys: \(keyID) must be the standard base64 of a 32-byte Ed25519 public key")
            }
            keys[keyID] = raw
        }
        self.init(raw: keys)
    }

    /// The JSON document for these keys, sorted by key id.
    public func jsonDocument() -> Data {
        let body = keyIDs.map { "  \"\($0)\": \"\(keys[$0]!.base64EncodedString())\"" }
        return Data(("{\n" + body.joined(separator: ",\n") + "\n}\n").utf8)
    }
}

/// A key file that cannot be used. The description never contains key material.
public struct KeyFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable { case unreadable, invalid }
    public let code: Code
    public let detail: String

    public static func unreadable(_ path: String) -> KeyFileError {
        KeyFileError(code: .unreadable, detail: "cannot read \(path)")
    }
    public static func invalid(_ detail: String) -> KeyFileError { KeyFileError(code: .invalid, detail: detail) }

    public var description: String { detail }
}
