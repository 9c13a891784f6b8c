import BreakGlassCore
import Crypto
public import Foundation
public import Logging

/// The local evidence directory: one sub-directory per bundle, written atomically (temp directory, fsync of every
/// file and directory, rename into place, fsync of the parent), sealed with the worker's evidence key.
public struct EvidenceStore: Sendable {
    public let root: URL
    public let key: EvidenceKey
    let logger: Logger

    /// Creates the root directory when missing.
    public init(
        root: URL, key: EvidenceKey, logger: Logger = Logger(label: "breakglass.evidence")
    ) throws(EvidenceError) {
        self.root = root.standardizedFileURL
        self.key = key
        self.logger = logger
        do {
            try FileManager.default.createDirectory(at: self.root, withIntermediateDirectories: true)
        } catch {
            throw .writeFailed("cannot create the evidence directory", path: root.path)
        }
    }

    /// The directory of a bundle id.
    public func directory(of bundleID: String) -> URL { root.appendingPathComponent(bundleID, isDirectory: true) }

    /// Seals and writes `bundle`; returns where it is and its manifest hash.
    @discardableResult
    public func write(_ bundle: EvidenceBundle) throws(EvidenceError) -> EvidenceLocation {
        guard EvidenceBundle.isValidArtifactPath(bundle.bundleID), !bundle.bundleID.contains("/") else {
            throw .artifactInvalid("bundle id must be one path segment of [A-Za-z0-9._-]", path: bundle.bundleID)
        }
        let final = directory(of: bundle.bundleID).path
        if FileManager.default.fileExists(atPath: final) { throw .bundleExists(final) }
        let temp = root.appendingPathComponent(".incoming-\(bundle.bundleID)-\(UUID().uuidString.prefix(8))").path
        try DurableFiles.makeDirectory(temp)
        do {
            var entries: [EvidenceManifest.Artifact] = []
            var directories: Set<String> = [temp]
            for artifact in bundle.artifacts.sorted(by: { $0.path < $1.path }) {
                let target = temp + "/" + artifact.path
                var parent = temp
                for segment in artifact.path.split(separator: "/").dropLast() {
                    parent += "/" + segment
                    if !directories.contains(parent) {
                        try DurableFiles.makeDirectory(parent)
                        directories.insert(parent)
                    }
                }
                try DurableFiles.write(artifact.data, to: target)
                entries.append(
                    .init(
                        path: artifact.path, sha256: Self.sha256Hex(artifact.data), bytes: artifact.data.count,
                        mediaType: artifact.mediaType))
            }
            let manifest = EvidenceManifest(
                bundleID: bundle.bundleID, caseID: bundle.caseID, tenantID: bundle.tenantID,
                requestID: bundle.requestID,
                kind: bundle.kind, outcome: bundle.outcome, reasons: bundle.reasons, workerID: bundle.workerID,
                createdAt: Timestamp.format(bundle.createdAt, fractional: true), artifacts: entries)
            let manifestBytes = manifest.encoded()
            try DurableFiles.write(manifestBytes, to: temp + "/" + EvidenceManifest.fileName)
            let seal = EvidenceSeal(
                keyID: key.keyID, publicKey: key.publicKeyBase64,
                signature: key.sign(manifestBytes).base64EncodedString())
            try DurableFiles.write(seal.encoded(), to: temp + "/" + EvidenceManifest.sealFileName)
            // Deepest directories first, then the bundle's own directory.
            for directory in directories.sorted(by: { $0.count > $1.count }) {
                try DurableFiles.syncDirectory(directory)
            }
            try DurableFiles.rename(temp, to: final)
            try DurableFiles.syncDirectory(root.path)
            let location = EvidenceLocation(
                bundleID: bundle.bundleID, path: final,
                manifestSHA256: Self.sha256Hex(manifestBytes), artifactCount: entries.count)
            logger.info(
                "evidence bundle written",
                metadata: [
                    "breakglass.bundle_id": "\(bundle.bundleID)", "breakglass.case_id": "\(bundle.caseID)",
                    "breakglass.tenant_id": "\(bundle.tenantID)",
                    "breakglass.artifacts": .stringConvertible(entries.count),
                ])
            return location
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// Removes `.incoming-*` directories left by a crash mid-write (they never count as bundles).
    @discardableResult
    public func removeIncomplete() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(".incoming-") {
            if (try? FileManager.default.removeItem(at: root.appendingPathComponent(name))) != nil { removed += 1 }
        }
        return removed
    }

    public static func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
