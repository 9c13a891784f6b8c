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

extension SightingTally {
    /// Both ledgers' input check for `recordSightings`: a valid key and request id, and at least one copy each.
    package static func validate(_ tallies: [SightingTally]) throws {
        for tally in tallies {
            guard Identifier.isValid(tally.key.caseID), Identifier.isValid(tally.key.tenantID) else {
                throw LedgerError.invalidInput("restoration key")
            }
            guard Identifier.isValid(tally.requestID), tally.copies >= 1 else {
                throw LedgerError.invalidInput("sighting")
            }
        }
    }
}
