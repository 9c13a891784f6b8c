public import BreakGlassCore

/// Copies of one request id seen for a key since the last write, recorded in one batch
/// (`Ledger.recordSightings`): a redelivery storm of decided keys costs one ledger write per batch, not per copy.
public struct SightingTally: Sendable, Hashable {
    public var key: RestorationKey
    public var requestID: String
    /// How many copies; at least 1.
    public var copies: Int

    public init(key: RestorationKey, requestID: String, copies: Int) {
        self.key = key
        self.requestID = requestID
        self.copies = copies
    }
}
