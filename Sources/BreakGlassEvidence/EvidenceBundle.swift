import BreakGlassCore
import Crypto
public import Foundation

/// A bundle before it is written: the request it documents and its artifacts (already masked).
/// `EvidenceStore.write` seals and writes it atomically.
public struct EvidenceBundle: Sendable {
    public struct Artifact: Sendable, Hashable {
        public var path: String
        public var data: Data
        public var mediaType: String

        public init(path: String, data: Data, mediaType: String) {
            self.path = path
            self.data = data
            self.mediaType = mediaType
        }
    }

    public var bundleID: String
    public var caseID: String
    public var tenantID: String
    public var requestID: String
    public var kind: String
    public var outcome: String
    public var reasons: [String]
    public var workerID: String
    public var createdAt: Date
    public private(set) var artifacts: [Artifact] = []

    public init(
        bundleID: String, caseID: String, tenantID: String, requestID: String, kind: String, outcome: String,
        reasons: [String] = [], workerID: String, createdAt: Date = Date()
    ) {
        self.bundleID = bundleID
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.kind = kind
        self.outcome = outcome
        self.reasons = reasons
        self.workerID = workerID
        self.createdAt = createdAt
    }

    /// A new bundle id: `<case>_<tenant>_<UTC yyyyMMddTHHmmssSSS>_<6 hex>`; sortable by time, unique per attempt.
    public static func makeID(caseID: String, tenantID: String, at date: Date = Date()) -> String {
        let stamp = Timestamp.format(date, fractional: true)
            .replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .replacingOccurrences(of: ".", with: "")
        let random = String(UInt32.random(in: 0...0xFF_FFFF), radix: 16)
        let suffix = String(repeating: "0", count: 6 - random.count) + random
        return "\(pathSafe(caseID))_\(pathSafe(tenantID))_\(stamp)_\(suffix)"
    }

    /// An identifier as one short, safe path segment (issue 16.4): the contract allows `:` and 128 characters per id,
    /// which made bundle paths fail (a `:` is refused in artifact paths; two long ids overflow NAME_MAX). Characters
    /// outside `[A-Za-z0-9._-]` become `-`; an id that was changed or is longer than 40 characters is cut to 24 and
    /// followed by 12 hex digits of its SHA-256, so distinct ids stay distinct. The manifest keeps the real ids.
    public static func pathSafe(_ id: String) -> String {
        var changed = false
        let mapped = String(
            id.unicodeScalars.map { scalar -> Character in
                let ok =
                    (scalar.value < 128)
                    && (CharacterSet.alphanumerics.contains(scalar) || scalar == "." || scalar == "_" || scalar == "-")
                if !ok { changed = true }
                return ok ? Character(scalar) : "-"
            })
        guard changed || mapped.count > 40 else { return mapped.isEmpty ? "x" : mapped }
        let digest = SHA256.hash(data: Data(id.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        return String(mapped.prefix(24)) + "-" + digest
    }

    /// Adds (or replaces) an artifact. The path must be relative, without `..`, and not a manifest file name.
    public mutating func add(path: String, data: Data, mediaType: String) throws(EvidenceError) {
        guard Self.isValidArtifactPath(path) else {
            throw .artifactInvalid("artifact paths are relative, made of [A-Za-z0-9._-] segments", path: path)
        }
        artifacts.removeAll { $0.path == path }
        artifacts.append(Artifact(path: path, data: data, mediaType: mediaType))
    }

    public static func isValidArtifactPath(_ path: String) -> Bool {
        guard !path.isEmpty, path.count <= 200, path != EvidenceManifest.fileName, path != EvidenceManifest.sealFileName
        else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return segments.allSatisfy { segment in
            !segment.isEmpty && segment != "." && segment != ".." && !segment.hasPrefix(".")
                && segment.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        }
    }
}
