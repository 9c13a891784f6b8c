/// Why evidence could not be written, read or sealed. `description` is generic; `detail` names the file or rule
/// (never a secret) and `path` the bundle or file concerned.
public struct EvidenceError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case keyInvalid = "key_invalid"
        case keyUnreadable = "key_unreadable"
        case artifactInvalid = "artifact_invalid"
        case writeFailed = "write_failed"
        case bundleExists = "bundle_exists"
        case bundleUnreadable = "bundle_unreadable"
    }

    public let code: Code
    public let detail: String
    public let path: String?

    public init(_ code: Code, _ detail: String, path: String? = nil) {
        self.code = code
        self.detail = detail
        self.path = path
    }

    public var description: String {
        switch code {
        case .keyInvalid: "evidence key invalid"
        case .keyUnreadable: "evidence key unreadable"
        case .artifactInvalid: "evidence artifact invalid"
        case .writeFailed: "evidence bundle could not be written"
        case .bundleExists: "evidence bundle already exists"
        case .bundleUnreadable: "evidence bundle unreadable"
        }
    }

    public static func keyInvalid(_ detail: String) -> EvidenceError { .init(.keyInvalid, detail) }
    public static func keyUnreadable(_ path: String) -> EvidenceError {
        .init(.keyUnreadable, "cannot read the key file", path: path)
    }
    public static func artifactInvalid(_ detail: String, path: String) -> EvidenceError {
        .init(.artifactInvalid, detail, path: path)
    }
    public static func writeFailed(_ detail: String, path: String) -> EvidenceError {
        .init(.writeFailed, detail, path: path)
    }
    public static func bundleExists(_ path: String) -> EvidenceError {
        .init(.bundleExists, "a bundle with this id exists", path: path)
    }
    public static func bundleUnreadable(_ detail: String, path: String) -> EvidenceError {
        .init(.bundleUnreadable, detail, path: path)
    }
}
