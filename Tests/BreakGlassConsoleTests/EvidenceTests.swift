import BreakGlassConsole
import BreakGlassCore
import Foundation
import Testing
import BreakGlassEvidence

@Suite("Evidence bundles")
struct EvidenceTests {
    let key = EvidenceKey.generate(keyID: "evidence-test").key

    func written() throws -> (EvidenceStore, EvidenceLocation) {
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        let location = try store.write(try EvidenceTestSupport.sampleBundle())
        return (store, location)
    }

    @Test("a written bundle verifies, with the trusted key and with the embedded one")
    func roundTrip() throws {
        let (_, location) = try written()
        let trusted = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(
            bundle: URL(fileURLWithPath: location.path))
        #expect(trusted.isValid, "\(trusted.problems)")
        #expect(trusted.authenticated)
        #expect(trusted.manifestSHA256 == location.manifestSHA256)
        #expect(trusted.manifest?.artifacts.count == location.artifactCount)
        let embedded = EvidenceVerifier().verify(bundle: URL(fileURLWithPath: location.path))
        #expect(embedded.isValid)
        #expect(!embedded.authenticated)
    }

    /// Issue 16.3: a halt bundle copied under a grant bundle's directory name verified "ok".
    @Test("a bundle under another bundle's directory name fails verification")
    func misnamedBundleFails() throws {
        let (store, location) = try written()
        let impostor = store.root.appendingPathComponent("CASE-1_tnt-1_20990101T000000000Z_abcdef")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: location.path), to: impostor)
        let result = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(bundle: impostor)
        #expect(!result.isValid)
        #expect(result.problems.map(\.code).contains(.bundleMisnamed))
        #expect(
            EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(bundle: URL(fileURLWithPath: location.path))
                .isValid)
    }

    /// Issue 16.4: a case id with `:` (the contract's identifier rule allows it) or two 128-character ids made the
    /// bundle write fail, so the request halted without evidence and could never be resumed.
    @Test("contract-valid ids at the identifier rule's extremes still get a bundle; the manifest keeps the real ids")
    func extremeIdentifiersGetABundle() throws {
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        let long = "C" + String(repeating: "a:b.c_d-", count: 15) + "1234567"
        #expect(Identifier.isValid(long) && long.count == 128)
        let cases: [(String, String)] = [
            ("CASE:88121", "tnt:1"), (long, "T" + String(long.dropFirst())), ("CASE-1", "tnt-1"),
        ]
        var ids = Set<String>()
        for (caseID, tenantID) in cases {
            #expect(Identifier.isValid(caseID) && Identifier.isValid(tenantID))
            var recorder = EvidenceRecorder(
                caseID: caseID, tenantID: tenantID, requestID: "REQ-1", workerID: "w-1", masker: Masker())
            recorder.step("gate", action: "recheck")
            let location = try store.write(recorder.bundle(kind: "restoration", outcome: "halted", reasons: []))
            let verification = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(
                bundle: URL(fileURLWithPath: location.path))
            #expect(verification.isValid, "\(verification.problems)")
            #expect(verification.manifest?.caseID == caseID)
            #expect(verification.manifest?.tenantID == tenantID)
            #expect(location.bundleID.utf8.count < 120)
            ids.insert(location.bundleID)
        }
        #expect(ids.count == cases.count)
        #expect(EvidenceBundle.pathSafe("A:B") != EvidenceBundle.pathSafe("A-B"))
    }

    @Test("the bundle holds the artifacts, masked, and the timing window")
    func contents() throws {
        let (_, location) = try written()
        let root = URL(fileURLWithPath: location.path)
        let files = try FileManager.default.subpathsOfDirectory(atPath: root.path)
        #expect(files.contains("steps.jsonl"))
        #expect(files.contains("timing.json"))
        #expect(files.contains("entered-values.json"))
        #expect(files.contains { $0.hasPrefix("screenshots/01-login-filled.png") })
        for file in files {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(
                atPath: root.appendingPathComponent(file).path, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            let text = String(decoding: try Data(contentsOf: root.appendingPathComponent(file)), as: UTF8.self)
            #expect(!text.contains("canary-password-1"), "\(file) leaks the canary")
        }
        let timing = try JSONDecoder().decode(
            [String: String].self, from: Data(contentsOf: root.appendingPathComponent("timing.json")))
        #expect(timing["recheck_to_click_ms"] == "250")
        #expect(!FileManager.default.fileExists(atPath: root.deletingLastPathComponent().path + "/.incoming"))
    }

    @Test("a changed byte in an artifact is detected")
    func changedByte() throws {
        let (_, location) = try written()
        let file = URL(fileURLWithPath: location.path).appendingPathComponent("steps.jsonl")
        var data = try Data(contentsOf: file)
        data[0] ^= 0x01
        try data.write(to: file)
        let result = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(
            bundle: URL(fileURLWithPath: location.path))
        #expect(!result.isValid)
        #expect(result.problems.map(\.code) == [.artifactChanged])
        #expect(result.problems.first?.path == "steps.jsonl")
    }

    @Test("an added file is detected, also in a sub-directory")
    func addedFile() throws {
        let (_, location) = try written()
        let root = URL(fileURLWithPath: location.path)
        try Data("x".utf8).write(to: root.appendingPathComponent("screenshots/99-extra.png"))
        try Data("x".utf8).write(to: root.appendingPathComponent(".hidden"))
        let result = EvidenceVerifier().verify(bundle: root)
        #expect(Set(result.problems.map(\.code)) == [.artifactAdded])
        #expect(Set(result.problems.compactMap(\.path)) == ["screenshots/99-extra.png", ".hidden"])
    }

    @Test("a removed file is detected")
    func removedFile() throws {
        let (_, location) = try written()
        let root = URL(fileURLWithPath: location.path)
        try FileManager.default.removeItem(at: root.appendingPathComponent("timing.json"))
        let result = EvidenceVerifier().verify(bundle: root)
        #expect(result.problems.map(\.code) == [.artifactRemoved])
    }

    @Test("an edited manifest (even with a consistent hash) breaks the seal")
    func editedManifest() throws {
        let (_, location) = try written()
        let root = URL(fileURLWithPath: location.path)
        let manifestURL = root.appendingPathComponent("manifest.json")
        let text = try String(contentsOf: manifestURL, encoding: .utf8)
        try Data(text.replacingOccurrences(of: "\"granted\"", with: "\"halted\"").utf8).write(to: manifestURL)
        let result = EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(bundle: root)
        #expect(result.problems.map(\.code) == [.sealInvalid])
    }

    @Test("a bad seal or another key is refused")
    func badSeal() throws {
        let (_, location) = try written()
        let root = URL(fileURLWithPath: location.path)
        let other = EvidenceKey.generate(keyID: "other").key
        let foreign = EvidenceVerifier(trustedPublicKey: other.publicKeyRaw).verify(bundle: root)
        #expect(foreign.problems.map(\.code) == [.sealInvalid])
        #expect(!foreign.authenticated)

        // A re-seal with another key that also swaps the embedded public key: valid alone, refused when trusted.
        let manifest = try Data(contentsOf: root.appendingPathComponent("manifest.json"))
        let forged = EvidenceSeal(
            keyID: "evidence-test", publicKey: other.publicKeyBase64,
            signature: other.sign(manifest).base64EncodedString())
        try forged.encoded().write(to: root.appendingPathComponent("manifest.sig"))
        #expect(
            EvidenceVerifier(trustedPublicKey: key.publicKeyRaw).verify(bundle: root).problems.map(\.code) == [
                .sealInvalid
            ])

        // A flipped signature byte.
        var seal = try JSONDecoder().decode(
            EvidenceSeal.self, from: Data(contentsOf: root.appendingPathComponent("manifest.sig")))
        var signature = Data(base64Encoded: seal.signature)!
        signature[3] ^= 0x80
        seal.signature = signature.base64EncodedString()
        try seal.encoded().write(to: root.appendingPathComponent("manifest.sig"))
        #expect(EvidenceVerifier().verify(bundle: root).problems.map(\.code) == [.sealInvalid])

        try FileManager.default.removeItem(at: root.appendingPathComponent("manifest.sig"))
        #expect(EvidenceVerifier().verify(bundle: root).problems.map(\.code) == [.sealInvalid])
    }

    @Test("a missing bundle or manifest is reported, not crashed on")
    func missing() throws {
        let dir = try EvidenceTestSupport.scratch()
        #expect(
            EvidenceVerifier().verify(bundle: dir.appendingPathComponent("nope")).problems.map(\.code) == [
                .bundleMissing
            ])
        #expect(EvidenceVerifier().verify(bundle: dir).problems.first?.code == .manifestUnreadable)
    }

    @Test("writing the same bundle id twice is refused; nothing half-written stays")
    func exists() throws {
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        try store.write(try EvidenceTestSupport.sampleBundle(id: "B-1"))
        #expect(throws: EvidenceError.self) { try store.write(try EvidenceTestSupport.sampleBundle(id: "B-1")) }
        let names = try FileManager.default.contentsOfDirectory(atPath: store.root.path)
        #expect(names == ["B-1"])
    }

    @Test("artifact paths that leave the bundle are refused")
    func badPaths() throws {
        var bundle = try EvidenceTestSupport.sampleBundle()
        for path in ["../x", "/abs", "a//b", "manifest.json", ".hidden", "a/../b", ""] {
            #expect(throws: EvidenceError.self, "\(path)") { try bundle.add(path: path, data: Data(), mediaType: "x") }
        }
    }

    @Test("evidence keys: seed files round-trip, bad seeds are refused, the seed is never printed")
    func keys() throws {
        let (key, seed) = EvidenceKey.generate(keyID: "k1")
        let dir = try EvidenceTestSupport.scratch()
        let file = dir.appendingPathComponent("seed")
        try Data((seed + "\n").utf8).write(to: file)
        let loaded = try EvidenceKey(keyID: "k1", seedFile: file)
        #expect(loaded.publicKeyRaw == key.publicKeyRaw)
        #expect(throws: EvidenceError.self) { try EvidenceKey(keyID: "k1", seedBase64: "AAAA") }
        #expect(throws: EvidenceError.self) { try EvidenceKey(keyID: "bad id", seedBase64: seed) }
        #expect(!String(describing: loaded).contains(seed))
        #expect(!String(reflecting: loaded).contains(seed))
    }
}

@Suite("Evidence-ready event")
struct EvidenceEventTests {
    @Test("the event carries the bundle id, manifest hash, location and artifact count; same bundle, same id")
    func event() throws {
        let key = EvidenceKey.generate(keyID: "k").key
        let store = try EvidenceStore(root: try EvidenceTestSupport.scratch(), key: key)
        let location = try store.write(try EvidenceTestSupport.sampleBundle())
        let factory = EventFactory(source: "urn:breakglass:test")
        let restorationKey = RestorationKey(caseID: "CASE-1", tenantID: "tnt-1")
        let event = factory.evidenceReady(key: restorationKey, requestID: "REQ-1", location: location)
        #expect(event.type == .evidenceReady)
        #expect(event.subject == "CASE-1/tnt-1")
        #expect(event.data.bundleID == location.bundleID)
        #expect(event.data.manifestSHA256 == location.manifestSHA256)
        #expect(event.data.location == location.path)
        #expect(event.data.artifacts == location.artifactCount)
        #expect(factory.evidenceReady(key: restorationKey, requestID: "REQ-1", location: location).id == event.id)
    }
}

@Suite("Evidence public key files")
struct EvidencePublicKeyFileTests {
    @Test("raw base64 and trusted-keys JSON are both read; the seal's key id selects from several")
    func files() throws {
        let a = EvidenceKey.generate(keyID: "ev-a").key
        let b = EvidenceKey.generate(keyID: "ev-b").key
        let dir = try EvidenceTestSupport.scratch()
        let raw = dir.appendingPathComponent("ev.pub")
        try Data((a.publicKeyBase64 + "\n").utf8).write(to: raw)
        #expect(try EvidenceVerifier.readPublicKey(file: raw) == a.publicKeyRaw)
        let json = dir.appendingPathComponent("trusted-keys.json")
        try JSONEncoder().encode(["ev-a": a.publicKeyBase64, "ev-b": b.publicKeyBase64]).write(to: json)
        #expect(try EvidenceVerifier.readPublicKey(file: json, keyID: "ev-b") == b.publicKeyRaw)
        #expect(throws: EvidenceError.self) { try EvidenceVerifier.readPublicKey(file: json) }
        #expect(throws: EvidenceError.self) { try EvidenceVerifier.readPublicKey(file: json, keyID: "ev-c") }
        let store = try EvidenceStore(root: dir.appendingPathComponent("bundles"), key: b)
        let location = try store.write(try EvidenceTestSupport.sampleBundle())
        #expect(EvidenceVerifier.sealKeyID(bundle: URL(fileURLWithPath: location.path)) == "ev-b")
    }
}
