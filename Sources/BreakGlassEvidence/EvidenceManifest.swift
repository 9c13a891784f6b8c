import BreakGlassCore
public import Foundation

/// `manifest.json` of a bundle: who and what it is about, and the SHA-256 of every artifact. Its exact bytes are
/// sealed by `manifest.sig` and their SHA-256 is the `manifest_sha256` of the `evidence-ready` event.
public struct EvidenceManifest: Sendable, Hashable, Codable {
    public static let currentFormat = "breakglass.evidence/v1"

    public struct Artifact: Sendable, Hashable, Codable {
        /// Relative path inside the bundle (`screenshots/03-tenant-verify.png`).
        public var path: String
        /// Lower-case hex SHA-256 of the file's bytes.
        public var sha256: String
        public var bytes: Int
        public var mediaType: String

        public init(path: String, sha256: String, bytes: Int, mediaType: String) {
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
            self.mediaType = mediaType
        }

        enum CodingKeys: String, CodingKey {
            case path, sha256, bytes
            case mediaType = "media_type"
        }
    }

    public var format: String
    public var bundleID: String
    public var caseID: String
    public var tenantID: String
    public var requestID: String
    /// What the bundle documents: `grant`, `halt`, `reconciliation`, `revocation`.
    public var kind: String
    /// The outcome in one word: `granted`, `halted`, `granted-by-reconciliation`, `revoked`, ...
    public var outcome: String
    /// Reason codes of a halt (empty for a grant).
    public var reasons: [String]
    public var workerID: String
    /// RFC 3339 UTC.
    public var createdAt: String
    public var artifacts: [Artifact]

    public init(
        format: String = EvidenceManifest.currentFormat, bundleID: String, caseID: String, tenantID: String,
        requestID: String, kind: String, outcome: String, reasons: [String], workerID: String, createdAt: String,
        artifacts: [Artifact]
    ) {
        self.format = format
        self.bundleID = bundleID
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.kind = kind
        self.outcome = outcome
        self.reasons = reasons
        self.workerID = workerID
        self.createdAt = createdAt
        self.artifacts = artifacts
    }

    enum CodingKeys: String, CodingKey {
        case format
        case bundleID = "bundle_id"
        case caseID = "case_id"
        case tenantID = "tenant_id"
        case requestID = "request_id"
        case kind, outcome, reasons
        case workerID = "worker_id"
        case createdAt = "created_at"
        case artifacts
    }

    /// The file names of the manifest and its seal; no artifact may use them.
    public static let fileName = "manifest.json"
    public static let sealFileName = "manifest.sig"

    /// Deterministic bytes (sorted keys, pretty, trailing newline).
    public func encoded() -> Data {
        // Encoding plain strings and ints cannot fail.
        Data(try! SortedJSONEncoder(.pretty).encodeBytes(self) + [UInt8(ascii: "\n")])
    }
}

/// `manifest.sig`: the Ed25519 signature of the exact bytes of `manifest.json`.
public struct EvidenceSeal: Sendable, Hashable, Codable {
    public var algorithm: String
    public var keyID: String
    /// Standard base64 of the raw 32-byte public key that made the signature.
    public var publicKey: String
    /// Standard base64 of the 64-byte signature.
    public var signature: String

    public init(algorithm: String = "ed25519", keyID: String, publicKey: String, signature: String) {
        self.algorithm = algorithm
        self.keyID = keyID
        self.publicKey = publicKey
        self.signature = signature
    }

    enum CodingKeys: String, CodingKey {
        case algorithm
        case keyID = "key_id"
        case publicKey = "public_key"
        case signature
    }

    public func encoded() -> Data {
        Data(try! SortedJSONEncoder(.pretty).encodeBytes(self) + [UInt8(ascii: "\n")])
    }
}
