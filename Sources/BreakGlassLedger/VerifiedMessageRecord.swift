public import BreakGlassCore
public import Foundation

/// A message a worker authenticated and validated in full before it claimed the message's key (issue 21), kept in
/// the ledger under the SHA-256 of its exact body and signature header (`VerifiedMessageCache.Digest`). A worker that
/// never saw it (a fresh one, after an outage, on any host) answers a byte-identical copy of a decided key from this
/// record instead of verifying it again, provided the public key that verified it is still the trusted key of its id
/// and `not_after` has not passed; anything else is verified in full.
public struct VerifiedMessageRecord: Sendable, Hashable {
    /// The SHA-256 of body ‖ 0x00 ‖ signature header (32 bytes).
    public var digest: [UInt8]
    public var key: RestorationKey
    public var requestID: String
    public var notAfter: Date
    /// The signature header's key id, and the raw Ed25519 public key (32 bytes) it named when the message was verified.
    public var keyID: String
    public var publicKey: Data

    public init(
        digest: [UInt8], key: RestorationKey, requestID: String, notAfter: Date, keyID: String, publicKey: Data
    ) {
        self.digest = digest
        self.key = key
        self.requestID = requestID
        self.notAfter = notAfter
        self.keyID = keyID
        self.publicKey = publicKey
    }

    /// Whether the record may ride on a claim of `key` for `requestID`: same key and request id, a 32-byte digest
    /// and public key, a key id.
    public func fits(_ key: RestorationKey, requestID: String) -> Bool {
        self.key == key && self.requestID == requestID && digest.count == 32 && publicKey.count == 32 && !keyID.isEmpty
    }
}

/// What the ledger knows of a message by its digest: the record, and its key's decided state now (nil when the key
/// is not decided: in flight, resumed by a person, or never decided).
public struct KnownMessage: Sendable, Hashable {
    public var record: VerifiedMessageRecord
    public var decidedState: RestorationState?

    public init(record: VerifiedMessageRecord, decidedState: RestorationState?) {
        self.record = record
        self.decidedState = decidedState
    }
}
