import BreakGlassConsole
import BreakGlassCore
import Foundation
import BreakGlassEvidence

enum EvidenceTestSupport {
    static func scratch(_ name: String = "ev") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func sampleBundle(id: String? = nil) throws -> EvidenceBundle {
        var recorder = EvidenceRecorder(
            caseID: "CASE-1", tenantID: "tnt-1", requestID: "REQ-1", workerID: "w-1",
            masker: Masker(literals: ["canary-password-1"]))
        recorder.step("console", screen: "login", action: "type password canary-password-1")
        recorder.screenshot(Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]), screen: "login", label: "filled")
        recorder.document("entered-values.json", ["password": "canary-password-1", "tenant_id": "tnt-1"])
        recorder.mark("recheck_finished", at: Date(timeIntervalSince1970: 100))
        recorder.mark("click", at: Date(timeIntervalSince1970: 100.25))
        return recorder.bundle(kind: "grant", outcome: "granted", reasons: [], bundleID: id)
    }
}
