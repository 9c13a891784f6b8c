/// The result of `EvidenceVerifier.verify`: valid when there is no problem.
public struct EvidenceVerification: Sendable, Hashable {
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        public enum Code: String, Sendable, Hashable {
            case bundleMissing = "bundle_missing"
            case manifestUnreadable = "manifest_unreadable"
            case sealInvalid = "seal_invalid"
            case artifactChanged = "artifact_changed"
            case artifactAdded = "artifact_added"
            case artifactRemoved = "artifact_removed"
            /// The bundle's directory name is not the manifest's `bundle_id` (a bundle copied under another's name).
            case bundleMisnamed = "bundle_misnamed"
        }

        public var code: Code
        public var detail: String
        public var path: String?

        public init(_ code: Code, _ detail: String, path: String? = nil) {
            self.code = code
            self.detail = detail
            self.path = path
        }

        public var description: String {
            path.map { "\(code.rawValue): \($0): \(detail)" } ?? "\(code.rawValue): \(detail)"
        }
    }

    public var bundlePath: String
    public var manifest: EvidenceManifest?
    public var manifestSHA256: String?
    public var sealKeyID: String?
    /// True when the seal verified with a trusted public key given by the caller (not only the embedded one).
    public var authenticated: Bool
    public var problems: [Problem]

    public var isValid: Bool { problems.isEmpty }
}
