public import Foundation

/// Authenticates and validates one message exactly as the worker does, and as `breakglass check` does offline.
///
/// Order (contract §3): size, then the signature over the exact body bytes, before anything is read from
/// the body; then UTF-8, JSON and every field rule; then `not_after` against `now`.
public struct MessageVerifier: Sendable {
    public let trustedKeys: TrustedKeys

    public init(trustedKeys: TrustedKeys) {
        self.trustedKeys = trustedKeys
    }

    public func verify<Bytes: DataProtocol>(
        body: Bytes,
        signatureHeader: String?,
        now: Date
    ) throws(Rejection) -> RestorationRequest {
        guard body.count <= RestorationRequest.maximumBodySize else {
            throw Rejection(.payloadTooLarge, "body: larger than \(RestorationRequest.maximumBodySize) bytes")
        }
        guard let headerValue = signatureHeader, !headerValue.isEmpty else {
            throw Rejection(.signatureMissing, "\(SignatureHeader.name): header is missing")
        }
        let header = try SignatureHeader(parsing: headerValue)
        guard trustedKeys.contains(header.keyID) else {
            throw Rejection(.unknownKey, "\(SignatureHeader.name): key id is not among the trusted keys")
        }
        guard trustedKeys.isValidSignature(header.signature, for: body, keyID: header.keyID) else {
            throw Rejection(.signatureInvalid, "\(SignatureHeader.name): signature does not match the body")
        }
        let request = try RequestDecoder.decode(Array(body))
        guard now < request.notAfter else {
            throw Rejection(.requestExpired, "not_after: the request must not be acted on after this instant")
        }
        return request
    }
}
