/// Where a written bundle is, and what the `evidence-ready` event says about it.
public struct EvidenceLocation: Sendable, Hashable, Codable {
    public var bundleID: String
    /// Absolute path of the bundle directory.
    public var path: String
    /// Lower-case hex SHA-256 of `manifest.json`'s bytes.
    public var manifestSHA256: String
    /// Number of artifacts (manifest and seal not counted).
    public var artifactCount: Int

    public init(bundleID: String, path: String, manifestSHA256: String, artifactCount: Int) {
        self.bundleID = bundleID
        self.path = path
        self.manifestSHA256 = manifestSHA256
        self.artifactCount = artifactCount
    }

    enum CodingKeys: String, CodingKey {
        case bundleID = "bundle_id"
        case path
        case manifestSHA256 = "manifest_sha256"
        case artifactCount = "artifact_count"
    }
}
