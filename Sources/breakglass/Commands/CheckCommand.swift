import ArgumentParser
import BreakGlassCore
import Foundation

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a message offline exactly as the worker will.",
        discussion: """
            Prints `accepted` (exit 0) or `rejected CODE: detail` (exit 1). For escalation teams testing
            their producer: size, signature (before anything is read from the body), every field rule, not_after.
            """
    )

    @Argument(help: "The message body file.")
    var file: String

    @Option(name: .long, help: "The x-breakglass-signature header value (omit to test a missing header).")
    var signature: String?

    @Option(name: .long, help: "Trusted keys JSON file.")
    var trustedKeys: String

    @Option(name: .long, help: "Evaluate as of this RFC 3339 UTC instant (default: now).")
    var now: String?

    func run() throws {
        let keys = try TrustedKeys(contentsOf: URL(fileURLWithPath: trustedKeys))
        var instant = Date()
        if let now {
            guard let parsed = Timestamp.parse(now) else {
                throw ValidationError("--now must be an RFC 3339 UTC date-time")
            }
            instant = parsed
        }
        let body = try Data(contentsOf: URL(fileURLWithPath: file))
        do {
            let request = try MessageVerifier(trustedKeys: keys).verify(
                body: body, signatureHeader: signature, now: instant)
            print("accepted \(request.key) request \(request.requestID)")
        } catch {
            print("rejected \(error)")
            throw ExitCode(1)
        }
    }
}
