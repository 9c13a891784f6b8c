import BreakGlassConsole
import BreakGlassCore
public import BreakGlassLedger
public import Foundation
import BreakGlassEvidence

/// Reads what `GovernanceReport.compute` needs: every ledger row, takeover and sighting, and every grant bundle
/// of the evidence store, each verified (seal and artifact hashes; with the trusted key when one is given).
public struct GovernanceReportSource: Sendable {
    public let ledger: any Ledger
    public let evidenceRoot: URL
    /// The pinned evidence key; bundles count as verified only when sealed by it.
    public let trustedPublicKey: Data

    public init(ledger: any Ledger, evidenceRoot: URL, trustedPublicKey: Data) {
        self.ledger = ledger
        self.evidenceRoot = evidenceRoot
        self.trustedPublicKey = trustedPublicKey
    }

    public func input(since: Date? = nil, now: Date = Date()) async throws -> GovernanceReport.Input {
        let entries = try await ledger.entries(limit: Int.max)
        let takeovers = try await ledger.takeovers(limit: Int.max)
        var sightings: [RestorationKey: GovernanceReport.Sightings] = [:]
        for entry in entries where since.map({ entry.createdAt >= $0 }) ?? true {
            let seen = try await ledger.requestSightings(for: entry.key)
            sightings[entry.key] = .init(requestIDs: seen.count, count: seen.reduce(0) { $0 + $1.count })
        }
        // Each key's outbox rows, read once for both the rejections and the evidence cross-check.
        var events: [RestorationKey: [OutboxEntry]] = [:]
        for entry in entries { events[entry.key] = try await ledger.events(for: entry.key) }
        return GovernanceReport.Input(
            entries: entries, takeovers: takeovers, sightings: sightings,
            keylessRejections: try await keylessRejections(),
            busyKeyRejections: busyKeyRejections(entries, events: events), grantBundles: grantBundles(),
            evidenceMismatches: evidenceMismatches(entries, events: events), since: since, generatedAt: now)
    }

    /// `outcome` events with `result: rejected` under a key whose ledger row does not count them: every one for a
    /// row that is not `rejected` (the key was held or decided: `Ledger.reject` answered `keyBusy` and only the
    /// event was written), all but the row's own for a `rejected` row.
    func busyKeyRejections(
        _ entries: [LedgerEntry], events: [RestorationKey: [OutboxEntry]]
    ) -> [GovernanceReport.KeylessRejection] {
        var result: [GovernanceReport.KeylessRejection] = []
        for entry in entries {
            let rejections = Self.rejections(in: events[entry.key] ?? [])
            result += entry.state == .rejected ? Array(rejections.dropFirst()) : rejections
        }
        return result
    }

    private static func rejections(in rows: [OutboxEntry]) -> [GovernanceReport.KeylessRejection] {
        rows.compactMap { entry in
            guard entry.message.routingKey == EventType.outcome.rawValue,
                let event = try? JSONDecoder().decode(Envelope.self, from: entry.message.body),
                event.data.result == .rejected
            else { return nil }
            return .init(reasons: event.data.reasons ?? [], at: entry.createdAt)
        }
    }

    /// `outcome` events with `result: rejected` written under `unknown/unknown` (messages rejected before their key
    /// could be read).
    func keylessRejections() async throws -> [GovernanceReport.KeylessRejection] {
        Self.rejections(in: try await ledger.events(for: RestorationKey(caseID: "unknown", tenantID: "unknown")))
    }

    /// Every `evidence-ready` event of the keys' outbox rows, checked against the store: the bundle exists under its
    /// `bundle_id`, its `manifest.json` has the announced SHA-256, and `location` names that bundle's directory.
    func evidenceMismatches(
        _ entries: [LedgerEntry], events: [RestorationKey: [OutboxEntry]]
    ) -> [GovernanceReport.Evidence.Mismatch] {
        struct Ready: Decodable {
            struct Data: Decodable {
                let bundleID: String
                let manifestSHA256: String
                let location: String
                enum CodingKeys: String, CodingKey {
                    case bundleID = "bundle_id", manifestSHA256 = "manifest_sha256", location
                }
            }
            let data: Data
        }
        var result: [GovernanceReport.Evidence.Mismatch] = []
        for entry in entries {
            for row in events[entry.key] ?? [] where row.message.routingKey == EventType.evidenceReady.rawValue {
                guard let ready = try? JSONDecoder().decode(Ready.self, from: row.message.body) else {
                    result.append(
                        .init(key: entry.key.description, bundleID: "?", problem: "unreadable evidence-ready event"))
                    continue
                }
                let announced = ready.data
                func mismatch(_ problem: String) {
                    result.append(.init(key: entry.key.description, bundleID: announced.bundleID, problem: problem))
                }
                let directory = evidenceRoot.appendingPathComponent(announced.bundleID, isDirectory: true)
                guard EvidenceBundle.isValidArtifactPath(announced.bundleID), !announced.bundleID.contains("/"),
                    let manifest = try? Data(contentsOf: directory.appendingPathComponent(EvidenceManifest.fileName))
                else {
                    mismatch("no bundle in the evidence store under the announced bundle_id")
                    continue
                }
                if EvidenceStore.sha256Hex(manifest) != announced.manifestSHA256 {
                    mismatch("manifest.json differs from the announced manifest_sha256")
                }
                if URL(fileURLWithPath: announced.location).lastPathComponent != announced.bundleID {
                    mismatch("location does not name the bundle's directory")
                }
            }
        }
        return result
    }

    struct Envelope: Decodable {
        let data: OutcomeData
    }

    /// Bundles whose manifest says a grant, by key, oldest first. Unreadable manifests are skipped (such a grant
    /// then shows as "no grant evidence bundle").
    func grantBundles() -> [RestorationKey: [GovernanceReport.GrantBundle]] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: evidenceRoot.path)) ?? []
        let verifier = EvidenceVerifier(trustedPublicKey: trustedPublicKey)
        var result: [RestorationKey: [(String, GovernanceReport.GrantBundle)]] = [:]
        for name in names.sorted() where !name.hasPrefix(".") {
            let directory = evidenceRoot.appendingPathComponent(name, isDirectory: true)
            guard let data = try? Data(contentsOf: directory.appendingPathComponent(EvidenceManifest.fileName)),
                let manifest = try? JSONDecoder().decode(EvidenceManifest.self, from: data),
                manifest.outcome.hasPrefix("granted")
            else { continue }
            let verification = verifier.verify(bundle: directory)
            let grant = (try? Data(contentsOf: directory.appendingPathComponent("grant.json")))
                .flatMap { try? JSONDecoder().decode(ConsoleGrant.self, from: $0) }
            let timing = (try? Data(contentsOf: directory.appendingPathComponent("timing.json")))
                .flatMap { try? JSONDecoder().decode([String: String].self, from: $0) }
            let bundle = GovernanceReport.GrantBundle(
                bundleID: manifest.bundleID,
                verified: verification.isValid && verification.authenticated,
                problems: verification.problems.map(\.description), confirmationID: grant?.confirmationID,
                scopes: grant?.scopes, recheckToClickMs: timing?["recheck_to_click_ms"].flatMap(Double.init))
            result[RestorationKey(caseID: manifest.caseID, tenantID: manifest.tenantID), default: []]
                .append((manifest.createdAt, bundle))
        }
        return result.mapValues { $0.sorted { $0.0 < $1.0 }.map(\.1) }
    }
}

extension GovernanceReportSource {
    /// The trusted evidence public key as the configuration pins it (issue 16.3), without creating anything:
    /// `evidence.public_key_file`, else the public half of `evidence.key_file`, else nil. Never a key found beside
    /// the evidence nor the one embedded in a seal: whoever can write the evidence could replace those.
    public static func evidencePublicKey(_ values: ConfigurationValues) throws -> Data? {
        if let file = values[Config.evidencePublicKeyFile] {
            return try EvidenceVerifier.readPublicKey(file: URL(fileURLWithPath: file))
        }
        if let file = values[Config.evidenceKeyFile] {
            return try EvidenceKey(keyID: "evidence", seedFile: URL(fileURLWithPath: file)).publicKeyRaw
        }
        return nil
    }
}
