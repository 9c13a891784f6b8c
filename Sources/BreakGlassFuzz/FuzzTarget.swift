import BreakGlassCore
import Foundation

/// libFuzzer entry point for message decoding and signature parsing (issue 9, item 3).
///
/// Built only by `scripts/fuzz` (the target exists only when `BREAKGLASS_FUZZ=1`, see Package.swift). An input is
/// split at its first newline into the `x-breakglass-signature` header value and the body (no newline: no header).
/// Each input runs the header parser, the JSON parser, the decoder and the full verifier twice: once with the
/// input's own header, once with a correct signature over the body by the fixed trusted key, so that every body
/// reaches the decoder behind the signature check. Any broken invariant traps, which libFuzzer reports as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzHarness.run(input)
    return 0
}

/// libFuzzer's driver (compiler-rt), declared here because no C header is imported for it.
@_extern(c, "LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The entry point SwiftPM links an executable target's `main` to (`--defsym main=BreakGlassFuzz_main`). This file is
/// compiled with `-parse-as-library`, so it is defined here and hands over to libFuzzer's driver; if libFuzzer's own
/// `main` is the one linked instead, it runs the same `LLVMFuzzerTestOneInput`.
@_cdecl("BreakGlassFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput)
}

enum FuzzHarness {
    /// The fixed key the seeds in fuzz/corpus are signed with (the unit tests' key: 32 bytes of 7).
    static let signer = try! RequestSigner(
        keyID: "escalation-2026", seedBase64: Data(repeating: 7, count: 32).base64EncodedString())
    static let verifier = MessageVerifier(trustedKeys: TrustedKeys(raw: [signer.keyID: signer.publicKeyRaw]))
    static let now = Timestamp.parse("2026-11-25T18:30:00Z")!
    /// Codes the verifier may give: the contract's rejection codes except the broker's `DELIVERY_LIMIT`.
    static let verifierCodes = Set(ReasonCode.allCases.filter { $0.category == .rejected && $0 != .deliveryLimit })
    static let decoderCodes: Set<ReasonCode> = [.schemaInvalid, .payloadTooLarge]

    static func run(_ input: [UInt8]) {
        let header: String?
        let body: [UInt8]
        if let newline = input.firstIndex(of: 0x0A) {
            header = String(decoding: input[..<newline], as: UTF8.self)
            body = Array(input[(newline + 1)...])
        } else {
            header = nil
            body = input
        }

        // The header parser: a parsed header round-trips; a refused one is SIGNATURE_INVALID.
        if let header {
            do {
                let parsed = try SignatureHeader(parsing: header)
                check((try? SignatureHeader(parsing: parsed.value)) == parsed, "header does not round-trip")
            } catch {
                check(error.code == .signatureInvalid && !error.detail.isEmpty, "header refused with \(error.code)")
            }
        }

        _ = try? JSONParser.parse(body)

        // The decoder alone.
        let decoded: Result<RestorationRequest, Rejection>
        do {
            decoded = .success(try RequestDecoder.decode(body))
        } catch {
            check(decoderCodes.contains(error.code) && !error.detail.isEmpty, "decoder gave \(error.code)")
            decoded = .failure(error)
        }

        // The verifier with the input's own header: accepted or one rejection code, never anything else.
        do {
            let request = try verifier.verify(body: body, signatureHeader: header, now: now)
            check(header != nil, "accepted without a header")
            check((try? decoded.get()) == request, "verifier and decoder disagree on an accepted body")
        } catch {
            check(verifierCodes.contains(error.code) && !error.detail.isEmpty, "verifier gave \(error.code)")
        }

        // The verifier with a correct signature: the same verdict as the decoder (plus expiry).
        let signed = signer.signature(for: body).value
        do {
            let request = try verifier.verify(body: body, signatureHeader: signed, now: now)
            check((try? decoded.get()) == request, "signed body accepted but the decoder refused it")
        } catch {
            switch decoded {
            case .success: check(error.code == .requestExpired, "signed valid body refused with \(error.code)")
            case .failure(let rejection):
                check(error == rejection, "signed body: verifier \(error.code), decoder \(rejection.code)")
            }
        }
    }

    /// Traps on a broken invariant so that libFuzzer records the input. The message names the rule, not the input.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("fuzz invariant: \(message())") }
    }
}
