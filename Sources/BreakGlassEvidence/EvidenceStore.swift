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
    /// The group commit behind `commit` (one per store value and its copies).
    let committer = EvidenceCommitter()

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

    /// Seals and writes `bundle`, durable on return (each file and directory fsynced); returns where it is and its
    /// manifest hash. For many bundles at once from concurrent flows, `commit` shares one sync among them.
    @discardableResult
    public func write(_ bundle: EvidenceBundle) throws(EvidenceError) -> EvidenceLocation {
        let prepared = try prepare(bundle, syncEach: true)
        do {
            // Deepest directories first, then the bundle's own directory.
            for directory in prepared.directories.sorted(by: { $0.count > $1.count }) {
                try DurableFiles.syncDirectory(directory)
            }
            try DurableFiles.rename(prepared.temp, to: prepared.location.path)
            try DurableFiles.syncDirectory(root.path)
        } catch {
            try? FileManager.default.removeItem(atPath: prepared.temp)
            throw error
        }
        logWritten(bundle, prepared.location)
        return prepared.location
    }

    /// Seals and writes `bundle` through the store's group commit (issue 21): bundles arriving together are written
    /// on one thread off the cooperative pool, made durable by ONE `syncfs` of the evidence file system, renamed
    /// into place, and the root directory fsynced once. Durable on return, like `write`.
    public func commit(_ bundle: EvidenceBundle) async throws(EvidenceError) -> EvidenceLocation {
        try await committer.commit(bundle, store: self).get()
    }

    /// A bundle written into its temp directory, not yet renamed into place.
    struct Prepared {
        let temp: String
        let location: EvidenceLocation
        let directories: Set<String>
    }

    /// Writes `bundle`'s files, manifest and seal into a new temp directory (each file fsynced when `syncEach`).
    func prepare(_ bundle: EvidenceBundle, syncEach: Bool) throws(EvidenceError) -> Prepared {
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
                try DurableFiles.write(artifact.data, to: target, sync: syncEach)
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
            try DurableFiles.write(manifestBytes, to: temp + "/" + EvidenceManifest.fileName, sync: syncEach)
            let seal = EvidenceSeal(
                keyID: key.keyID, publicKey: key.publicKeyBase64,
                signature: key.sign(manifestBytes).base64EncodedString())
            try DurableFiles.write(seal.encoded(), to: temp + "/" + EvidenceManifest.sealFileName, sync: syncEach)
            let location = EvidenceLocation(
                bundleID: bundle.bundleID, path: final,
                manifestSHA256: Self.sha256Hex(manifestBytes), artifactCount: entries.count)
            return Prepared(temp: temp, location: location, directories: directories)
        } catch {
            try? FileManager.default.removeItem(atPath: temp)
            throw error
        }
    }

    /// The group commit's write of several bundles: each prepared without fsync, then one `syncfs` of the evidence
    /// file system (every file and directory entry written so far is durable), the renames, one fsync of the root.
    /// A bundle that cannot be prepared or renamed fails alone; a failed sync fails the batch.
    func writeBatch(_ bundles: [EvidenceBundle]) -> [Result<EvidenceLocation, EvidenceError>] {
        var results: [Result<EvidenceLocation, EvidenceError>] = []
        var prepared: [(index: Int, bundle: Prepared)] = []
        for (index, bundle) in bundles.enumerated() {
            do {
                prepared.append((index, try prepare(bundle, syncEach: false)))
                results.append(.failure(.writeFailed("not written", path: root.path)))
            } catch {
                results.append(.failure(error))
            }
        }
        guard !prepared.isEmpty else { return results }
        do {
            try DurableFiles.syncFileSystem(of: root.path)
        } catch {
            for (index, bundle) in prepared {
                try? FileManager.default.removeItem(atPath: bundle.temp)
                results[index] = .failure(error)
            }
            return results
        }
        var renamed: [Int] = []
        for (index, bundle) in prepared {
            do {
                try DurableFiles.rename(bundle.temp, to: bundle.location.path)
                renamed.append(index)
                results[index] = .success(bundle.location)
            } catch {
                try? FileManager.default.removeItem(atPath: bundle.temp)
                results[index] = .failure(error)
            }
        }
        if !renamed.isEmpty {
            do {
                try DurableFiles.syncDirectory(root.path)
            } catch {
                for index in renamed { results[index] = .failure(error) }
            }
        }
        for (index, bundle) in bundles.enumerated() {
            if case .success(let location) = results[index] { logWritten(bundle, location) }
        }
        return results
    }

    func logWritten(_ bundle: EvidenceBundle, _ location: EvidenceLocation) {
        logger.info(
            "evidence bundle written",
            metadata: [
                "breakglass.bundle_id": "\(bundle.bundleID)", "breakglass.case_id": "\(bundle.caseID)",
                "breakglass.tenant_id": "\(bundle.tenantID)",
                "breakglass.artifacts": .stringConvertible(location.artifactCount),
            ])
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
