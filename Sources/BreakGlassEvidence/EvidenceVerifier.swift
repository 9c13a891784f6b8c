import Crypto
public import Foundation

/// Checks a bundle: the seal over `manifest.json`, then every artifact against the manifest (changed, missing,
/// added files). Reads only; never trusts a path from the manifest that leaves the bundle.
public struct EvidenceVerifier: Sendable {
    /// The public key the seal must verify with (raw 32 bytes); `nil` verifies with the key embedded in the seal,
    /// which proves integrity but not who sealed it.
    public var trustedPublicKey: Data?

    public init(trustedPublicKey: Data? = nil) {
        self.trustedPublicKey = trustedPublicKey
    }

    /// Reads a public key file: the standard base64 of the raw 32-byte Ed25519 public key, or a trusted-keys JSON
    /// object (`{"<key id>": "<base64>"}`, as `breakglass keygen` writes), from which `keyID` is taken (or the only
    /// key when `keyID` is nil).
    public static func readPublicKey(file url: URL, keyID: String? = nil) throws(EvidenceError) -> Data {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .keyUnreadable(url.path) }
        var text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("{") {
            guard let keys = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw .keyInvalid("the trusted-keys file must be a JSON object from key id to base64 public key")
            }
            if let keyID {
                guard let value = keys[keyID] else { throw .keyInvalid("the trusted-keys file has no key \(keyID)") }
                text = value
            } else {
                guard keys.count == 1, let only = keys.values.first else {
                    throw .keyInvalid("the trusted-keys file holds several keys; the seal's key id selects one")
                }
                text = only
            }
        }
        guard let raw = Data(base64Encoded: text), raw.count == 32,
            (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        else { throw .keyInvalid("the public key must be the standard base64 of a raw 32-byte Ed25519 public key") }
        return raw
    }

    /// The key id in a bundle's seal, if readable (to pick the trusted key).
    public static func sealKeyID(bundle url: URL) -> String? {
        guard let data = try? Data(contentsOf: url.appendingPathComponent(EvidenceManifest.sealFileName)) else {
            return nil
        }
        return (try? JSONDecoder().decode(EvidenceSeal.self, from: data))?.keyID
    }

    public func verify(bundle url: URL) -> EvidenceVerification {
        let root = url.standardizedFileURL
        var problems: [EvidenceVerification.Problem] = []
        let manifestURL = root.appendingPathComponent(EvidenceManifest.fileName)
        let sealURL = root.appendingPathComponent(EvidenceManifest.sealFileName)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return EvidenceVerification(
                bundlePath: root.path, manifest: nil, manifestSHA256: nil, sealKeyID: nil,
                authenticated: false,
                problems: [.init(.bundleMissing, "no bundle directory at this path")])
        }
        guard let manifestBytes = try? Data(contentsOf: manifestURL) else {
            return EvidenceVerification(
                bundlePath: root.path, manifest: nil, manifestSHA256: nil, sealKeyID: nil,
                authenticated: false,
                problems: [
                    .init(
                        .manifestUnreadable, "manifest.json is missing or unreadable", path: EvidenceManifest.fileName)
                ])
        }
        let manifestHash = EvidenceStore.sha256Hex(manifestBytes)
        let manifest = try? JSONDecoder().decode(EvidenceManifest.self, from: manifestBytes)
        if let manifest, manifest.bundleID != root.lastPathComponent {
            // A halt bundle copied under a grant bundle's directory name must not pass for it (issue 16.3).
            problems.append(
                .init(
                    .bundleMisnamed, "the directory name is not the manifest's bundle_id",
                    path: EvidenceManifest.fileName))
        }
        if manifest == nil {
            problems.append(
                .init(.manifestUnreadable, "manifest.json is not a valid manifest", path: EvidenceManifest.fileName))
        } else if manifest?.format != EvidenceManifest.currentFormat {
            problems.append(.init(.manifestUnreadable, "unknown manifest format", path: EvidenceManifest.fileName))
        }

        // The seal.
        var sealKeyID: String?
        var authenticated = false
        if let sealBytes = try? Data(contentsOf: sealURL),
            let seal = try? JSONDecoder().decode(EvidenceSeal.self, from: sealBytes)
        {
            sealKeyID = seal.keyID
            let embedded = Data(base64Encoded: seal.publicKey)
            let keyBytes = trustedPublicKey ?? embedded
            if seal.algorithm != "ed25519" {
                problems.append(
                    .init(.sealInvalid, "seal algorithm must be ed25519", path: EvidenceManifest.sealFileName))
            } else if let trustedPublicKey, embedded != trustedPublicKey {
                problems.append(
                    .init(
                        .sealInvalid, "the bundle was sealed with another key than the trusted one",
                        path: EvidenceManifest.sealFileName))
            } else if let keyBytes, let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes),
                let signature = Data(base64Encoded: seal.signature), key.isValidSignature(signature, for: manifestBytes)
            {
                authenticated = trustedPublicKey != nil
            } else {
                problems.append(
                    .init(
                        .sealInvalid, "the seal does not verify over manifest.json", path: EvidenceManifest.sealFileName
                    ))
            }
        } else {
            problems.append(
                .init(.sealInvalid, "manifest.sig is missing or unreadable", path: EvidenceManifest.sealFileName))
        }

        // The artifacts.
        let present = Self.listFiles(root)
        var listed: Set<String> = [EvidenceManifest.fileName, EvidenceManifest.sealFileName]
        for artifact in manifest?.artifacts ?? [] {
            guard EvidenceBundle.isValidArtifactPath(artifact.path) else {
                problems.append(.init(.artifactChanged, "the manifest lists an invalid path", path: artifact.path))
                continue
            }
            listed.insert(artifact.path)
            guard present.files.contains(artifact.path),
                let data = try? Data(contentsOf: root.appendingPathComponent(artifact.path))
            else {
                problems.append(.init(.artifactRemoved, "listed in the manifest but missing", path: artifact.path))
                continue
            }
            if data.count != artifact.bytes || EvidenceStore.sha256Hex(data) != artifact.sha256 {
                problems.append(
                    .init(.artifactChanged, "content differs from the manifest (SHA-256)", path: artifact.path))
            }
        }
        for file in present.files.sorted() where !listed.contains(file) {
            problems.append(.init(.artifactAdded, "not listed in the manifest", path: file))
        }
        for other in present.others.sorted() {
            problems.append(.init(.artifactAdded, "unexpected entry (link or special file)", path: other))
        }
        return EvidenceVerification(
            bundlePath: root.path, manifest: manifest, manifestSHA256: manifestHash,
            sealKeyID: sealKeyID, authenticated: authenticated, problems: problems)
    }

    /// Relative paths of the regular files under `root`, and of anything else (links, sockets) separately.
    static func listFiles(_ root: URL) -> (files: Set<String>, others: Set<String>) {
        var files: Set<String> = []
        var others: Set<String> = []
        let manager = FileManager.default
        func walk(_ relative: String) {
            let absolute = relative.isEmpty ? root.path : root.path + "/" + relative
            guard let names = try? manager.contentsOfDirectory(atPath: absolute) else { return }
            for name in names {
                let child = relative.isEmpty ? name : relative + "/" + name
                let attributes = try? manager.attributesOfItem(atPath: root.path + "/" + child)
                switch attributes?[.type] as? FileAttributeType {
                case .typeRegular?: files.insert(child)
                case .typeDirectory?: walk(child)
                default: others.insert(child)
                }
            }
        }
        walk("")
        return (files, others)
    }
}
