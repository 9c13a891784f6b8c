import ArgumentParser
import BreakGlassCore
import Foundation

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an Ed25519 signing key pair in the contract's formats.",
        discussion: """
            Writes DIR/<key-id>.seed (base64 of the raw 32-byte private seed, mode 0600) and
            DIR/trusted-keys.json ({"<key-id>": "<base64 public key>"}, merged into an existing file).
            The private seed is never printed.
            """
    )

    @Option(name: .long, help: "Folder for the key files.")
    var out: String

    @Option(name: .long, help: "Key id (identifier pattern).")
    var keyID: String = "escalation-\(Calendar(identifier: .gregorian).component(.year, from: Date()))"

    func run() throws {
        guard Identifier.isValid(keyID) else { throw ValidationError("--key-id must match the identifier pattern") }
        let dir = URL(fileURLWithPath: out, isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let seedURL = dir.appendingPathComponent("\(keyID).seed")
        guard !FileManager.default.fileExists(atPath: seedURL.path) else {
            throw ValidationError("\(seedURL.path) exists; refusing to overwrite a signing key")
        }
        let (signer, seed) = RequestSigner.generate(keyID: keyID)
        try SecretFile.write(Data((seed + "\n").utf8), to: seedURL)

        let trustedURL = dir.appendingPathComponent("trusted-keys.json")
        var raw: [String: Data] = [:]
        if FileManager.default.fileExists(atPath: trustedURL.path) {
            let existing = try TrustedKeys(contentsOf: trustedURL)
            for id in existing.keyIDs {
                raw[id] = existing.rawKey(id)
            }
        }
        raw[keyID] = signer.publicKeyRaw
        try TrustedKeys(raw: raw).jsonDocument().write(to: trustedURL, options: .atomic)
        print("key id:       \(keyID)")
        print("signing seed: \(seedURL.path) (keep private)")
        print("trusted keys: \(trustedURL.path)")
    }
}
