public import BreakGlassCore
public import Foundation

extension EventFactory {
    /// The contract's `evidence-ready` event for a written bundle: bundle id, manifest hash, location (the bundle's
    /// absolute path) and artifact count.
    public func evidenceReady(
        key: RestorationKey, requestID: String, location: EvidenceLocation,
        time: Date = Date()
    ) -> CloudEvent<EvidenceReadyData> {
        evidenceReady(
            key: key, requestID: requestID, bundleID: location.bundleID, manifestSHA256: location.manifestSHA256,
            location: location.path, artifacts: location.artifactCount, time: time)
    }
}
