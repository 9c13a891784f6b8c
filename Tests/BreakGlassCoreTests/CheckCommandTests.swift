import BreakGlassCore
import Foundation
import Testing

/// `breakglass check` — the escalation teams' offline validator — gives the same verdict and code as the
/// library for every bad message. Runs the built binary (`swift build --build-tests` builds it beside the tests).
@Suite("breakglass check (the binary)")
struct CheckCommandTests {
    static var binary: URL? {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("breakglass")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return nil
    }

    struct Run {
        var status: Int32
        var output: String
    }

    static func check(body: Data, signature: String?, keysFile: URL, now: String = "2026-11-25T18:30:00Z") throws -> Run
    {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bg-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("body.json")
        try body.write(to: file)
        let process = Process()
        guard let executable = Self.binary else { throw CheckBinaryMissing() }
        process.executableURL = executable
        process.arguments =
            ["check", file.path, "--trusted-keys", keysFile.path, "--now", now]
            + (signature.map { ["--signature", $0] } ?? [])
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    static func keysFile() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bg-keys-\(UUID().uuidString).json")
        try RequestFixtures.trustedKeys.jsonDocument().write(to: url)
        return url
    }

    @Test(.enabled(if: binary != nil, "the breakglass binary is not built"))
    func everyBadMessageGetsItsCode() throws {
        let keys = try Self.keysFile()
        for (name, body, code, _) in RequestDecoderTests.badBodies {
            let run = try Self.check(body: body, signature: RequestFixtures.header(for: body), keysFile: keys)
            #expect(run.status == 1, "\(name)")
            #expect(run.output.hasPrefix("rejected \(code.rawValue): "), "\(name): \(run.output)")
        }
    }

    @Test(.enabled(if: binary != nil, "the breakglass binary is not built"))
    func signatureAndExpiryVerdicts() throws {
        let keys = try Self.keysFile()
        let body = RequestFixtures.validBody
        let good = RequestFixtures.header(for: body)
        let accepted = try Self.check(body: body, signature: good, keysFile: keys)
        #expect(accepted.status == 0)
        #expect(accepted.output.hasPrefix("accepted CASE-88121/tnt-4f9a2c"))

        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        #expect(
            try Self.check(body: tampered, signature: good, keysFile: keys).output.hasPrefix(
                "rejected SIGNATURE_INVALID"))
        #expect(
            try Self.check(body: body, signature: nil, keysFile: keys).output.hasPrefix("rejected SIGNATURE_MISSING"))
        let wrongKey = RequestFixtures.otherSigner.signature(for: body).value
        #expect(
            try Self.check(body: body, signature: wrongKey, keysFile: keys).output.hasPrefix(
                "rejected SIGNATURE_INVALID"))
        let unknown = try RequestSigner(
            keyID: "nobody", seedBase64: Data(repeating: 1, count: 32).base64EncodedString())
        #expect(
            try Self.check(body: body, signature: unknown.signature(for: body).value, keysFile: keys).output.hasPrefix(
                "rejected UNKNOWN_KEY"))
        #expect(
            try Self.check(body: body, signature: "ed25519;key=x", keysFile: keys).output.hasPrefix(
                "rejected SIGNATURE_INVALID"))
        let expired = try Self.check(body: body, signature: good, keysFile: keys, now: "2026-11-25T19:20:01Z")
        #expect(expired.status == 1)
        #expect(expired.output.hasPrefix("rejected REQUEST_EXPIRED"))
    }
}

/// The `breakglass` binary was not found beside the test bundle.
struct CheckBinaryMissing: Error {}
