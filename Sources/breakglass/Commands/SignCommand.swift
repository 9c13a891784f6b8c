import ArgumentParser
import BreakGlassCore
import Foundation

struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Print the x-breakglass-signature header value for a message body file.",
        discussion: "Signs the exact bytes of FILE, as the worker will verify them."
    )

    @Argument(help: "The message body (JSON) to sign.")
    var file: String

    @Option(name: .long, help: "Signing key file: base64 of the raw 32-byte Ed25519 seed.")
    var key: String

    @Option(name: .long, help: "Key id to put in the header (default: the seed file's name without .seed).")
    var keyID: String?

    func run() throws {
        let keyURL = URL(fileURLWithPath: key)
        let id = keyID ?? keyURL.deletingPathExtension().lastPathComponent
        let signer = try RequestSigner(keyID: id, seedFile: keyURL)
        let body = try Data(contentsOf: URL(fileURLWithPath: file))
        print(signer.signature(for: body).value)
    }
}
