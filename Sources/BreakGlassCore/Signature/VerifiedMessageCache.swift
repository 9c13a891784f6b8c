import Crypto
public import Foundation
import Synchronization

/// What the worker learned from messages it already authenticated and validated, by the SHA-256 of their exact body
/// bytes and signature header (issue 21): a redelivered copy of the same bytes is recognised without verifying its
/// Ed25519 signature or decoding its JSON again. Any other bytes (a forged copy, a changed header, a re-signed body)
/// miss and are verified in full. Bounded: the oldest entries leave first (a few MiB at the default capacity).
///
/// Only a shortcut to an answer the full path would give: a hit still has its `not_after` checked against now, and
/// the pipeline takes it only when the key is known decided (a duplicate); anything else is verified again.
public final class VerifiedMessageCache: Sendable {
    /// The SHA-256 of body ‖ 0x00 ‖ signature header, as four words.
    public struct Digest: Hashable, Sendable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64

        public init<Bytes: DataProtocol>(body: Bytes, signatureHeader: String?) {
            var hasher = SHA256()
            hasher.update(data: body)
            hasher.update(data: [0])
            hasher.update(data: Data((signatureHeader ?? "").utf8))
            let words = hasher.finalize().withUnsafeBytes { raw in
                (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
            }
            (a, b, c, d) = (words[0], words[1], words[2], words[3])
        }

        /// The digest as it was read back from `bytes` (32 bytes; nil otherwise).
        public init?(bytes: some Collection<UInt8>) {
            guard bytes.count == 32 else { return nil }
            let words = Array(bytes).withUnsafeBytes { raw in
                (0..<4).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
            }
            (a, b, c, d) = (words[0], words[1], words[2], words[3])
        }

        /// The 32 bytes of the SHA-256 (the ledger's `verified_messages.digest`).
        public var bytes: [UInt8] {
            withUnsafeBytes(of: (a, b, c, d)) { Array($0) }
        }
    }

    /// The parts of a verified request a duplicate needs.
    public struct Entry: Sendable, Hashable {
        public let key: RestorationKey
        public let requestID: String
        public let notAfter: Date

        public init(_ request: RestorationRequest) {
            key = request.key
            requestID = request.requestID
            notAfter = request.notAfter
        }

        public init(key: RestorationKey, requestID: String, notAfter: Date) {
            self.key = key
            self.requestID = requestID
            self.notAfter = notAfter
        }
    }

    private struct State {
        var entries: [Digest: Entry] = [:]
        var order: [Digest] = []
        var next = 0
    }

    public let capacity: Int
    private let state: Mutex<State>

    public init(capacity: Int = 16_384) {
        self.capacity = max(1, capacity)
        state = Mutex(State())
    }

    public var count: Int { state.withLock { $0.entries.count } }

    public func entry(for digest: Digest) -> Entry? { state.withLock { $0.entries[digest] } }

    /// Remembers a message that passed `MessageVerifier.verify` in full.
    public func insert(_ entry: Entry, for digest: Digest) {
        state.withLock { state in
            guard state.entries.updateValue(entry, forKey: digest) == nil else { return }
            if state.order.count < capacity {
                state.order.append(digest)
            } else {
                state.entries[state.order[state.next]] = nil
                state.order[state.next] = digest
                state.next = (state.next + 1) % capacity
            }
        }
    }
}
