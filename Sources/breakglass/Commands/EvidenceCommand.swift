import ArgumentParser
import BreakGlassConsole
import BreakGlassCore
import Foundation
import BreakGlassEvidence

/// `breakglass evidence verify|show BUNDLE`.
struct EvidenceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evidence",
        abstract: "Verify or summarise an evidence bundle.",
        subcommands: [Verify.self, Show.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check a bundle's seal and every artifact (changed, added, removed).",
            discussion: """
                Exit 0 when the bundle is intact and sealed by the trusted key, 1 with one line per problem
                otherwise, 2 without --public-key: the key embedded in a seal proves nothing about who sealed the
                bundle (anyone can re-seal a tampered bundle with a key of their own), so a trusted key is required.
                Keep it apart from the evidence directory. The key file holds the standard base64 of the raw 32-byte
                Ed25519 public key, or a trusted-keys JSON ({"key id": "base64"}; the seal's key id selects one, so
                keys can rotate). The directory name must equal the manifest's bundle_id.
                """
        )

        @Argument(help: "The bundle directory.")
        var bundle: String

        @Option(
            name: .long,
            help: "The worker's evidence public key: a file with the base64 of the 32-byte key, or a trusted-keys JSON."
        )
        var publicKey: String?

        func run() throws {
            var verifier = EvidenceVerifier()
            guard let publicKey else {
                print(
                    "error: a trusted evidence public key is required (--public-key FILE): the key embedded in a seal "
                        + "proves nothing about who sealed the bundle")
                throw ExitCode(2)
            }
            do {
                let keyID = EvidenceVerifier.sealKeyID(bundle: URL(fileURLWithPath: bundle))
                do {
                    verifier.trustedPublicKey = try EvidenceVerifier.readPublicKey(
                        file: URL(fileURLWithPath: publicKey), keyID: keyID)
                } catch {
                    print("error: \(error.description): \(error.detail)")
                    throw ExitCode(1)
                }
            }
            let result = verifier.verify(bundle: URL(fileURLWithPath: bundle))
            if result.isValid && result.authenticated {
                let count = result.manifest?.artifacts.count ?? 0
                print("ok \(result.manifest?.bundleID ?? bundle): \(count) artifacts intact, sealed by the trusted key")
                print("manifest sha256 \(result.manifestSHA256 ?? "")")
                return
            }
            print("FAILED \(bundle): \(result.problems.count) problem\(result.problems.count == 1 ? "" : "s")")
            for problem in result.problems { print("  \(problem)") }
            throw ExitCode(1)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print a readable summary of a bundle (what happened, artifacts, timing, takeover).")

        @Argument(help: "The bundle directory.")
        var bundle: String

        func run() throws {
            let root = URL(fileURLWithPath: bundle)
            let result = EvidenceVerifier().verify(bundle: root)
            guard let manifest = result.manifest else {
                print("not a bundle: \(result.problems.map(\.description).joined(separator: "; "))")
                throw ExitCode(1)
            }
            print("bundle    \(manifest.bundleID)")
            print("key       \(manifest.caseID)/\(manifest.tenantID)  request \(manifest.requestID)")
            print(
                "kind      \(manifest.kind)  outcome \(manifest.outcome)"
                    + (manifest.reasons.isEmpty ? "" : "  reasons \(manifest.reasons.joined(separator: ", "))"))
            print("worker    \(manifest.workerID)  created \(manifest.createdAt)")
            print(
                "integrity \(result.isValid ? "intact (seal \(result.sealKeyID ?? "?"))" : "FAILED: \(result.problems.count) problem(s), run `evidence verify`")"
            )
            if let summary = Self.json(root, "summary.json") {
                for key in summary.keys.sorted() { print("  \(key): \(Self.render(summary[key]))") }
            }
            if let timing = Self.json(root, "timing.json") {
                let windows = timing.keys.filter { $0.hasSuffix("_ms") }.sorted()
                if !windows.isEmpty {
                    print("timing    " + windows.map { "\($0)=\(Self.render(timing[$0]))" }.joined(separator: "  "))
                }
            }
            if let data = try? Data(contentsOf: root.appendingPathComponent("takeover.json")),
                let record = try? JSONDecoder().decode(TakeoverRecord.self, from: data)
            {
                print(
                    "takeover  reasons \(record.reasons.map(\.rawValue).joined(separator: ", "))  stage \(record.stage.rawValue)  escalate \(record.escalate)"
                )
                print("  screen \(record.screen ?? "-")  url \(record.url ?? "-")  draft \(record.draftID ?? "-")")
                print("  approval refs \(record.approvalRefs.joined(separator: ", "))")
                for (field, value) in record.enteredValues.sorted(by: { $0.key < $1.key }) {
                    print("  entered \(field): \(value)")
                }
                if let shot = record.lastScreenshotPath { print("  last screenshot \(shot)") }
                if let note = record.note { print("  note: \(note)") }
            }
            print("artifacts (\(manifest.artifacts.count))")
            for artifact in manifest.artifacts {
                print("  \(artifact.path)  \(artifact.bytes) B  \(artifact.sha256.prefix(12))…")
            }
        }

        static func json(_ root: URL, _ name: String) -> [String: Any]? {
            guard let data = try? Data(contentsOf: root.appendingPathComponent(name)) else { return nil }
            return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        }

        static func render(_ value: Any?) -> String {
            switch value {
            case let text as String: return text
            case let list as [Any]: return list.map { render($0) }.joined(separator: ", ")
            case let object as [String: Any]:
                return object.keys.sorted().map { "\($0)=\(render(object[$0]))" }.joined(separator: " ")
            case let number as NSNumber: return number.stringValue
            case nil: return "-"
            default: return "\(value!)"
            }
        }
    }
}
