/// Publisher-confirm bookkeeping for one confirm-mode channel: sequence numbers, `basic.ack`/`basic.nack`
/// (single or multiple), and `basic.return` (a returned mandatory publish fails when its ack arrives).
/// A plain value type, tested alone.
struct ConfirmTracker<Payload> {
    enum Outcome {
        case confirmed
        case nacked
        case returned(replyCode: UInt16, replyText: String)
    }

    private struct Entry {
        var sequence: UInt64
        var payload: Payload?
        var returned: (replyCode: UInt16, replyText: String)?
    }

    /// The sequence number the next publish gets (the broker numbers from 1 after `confirm.select`).
    private(set) var nextSequence: UInt64 = 1
    private var entries: [Entry] = []
    private var head = 0
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    /// Registers a publish just sent; returns its sequence number.
    @discardableResult
    mutating func register(_ payload: Payload) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        entries.append(Entry(sequence: sequence, payload: payload))
        count += 1
        return sequence
    }

    /// Applies a `basic.ack` (nack: false) or `basic.nack` (nack: true) and returns the settled publishes.
    mutating func settle(tag: UInt64, multiple: Bool, nack: Bool) -> [(Payload, Outcome)] {
        var settled: [(Payload, Outcome)] = []
        func outcome(_ entry: Entry) -> Outcome {
            if nack { return .nacked }
            if let returned = entry.returned {
                return .returned(replyCode: returned.replyCode, replyText: returned.replyText)
            }
            return .confirmed
        }
        if multiple {
            var index = head
            while index < entries.count, entries[index].sequence <= tag {
                if let payload = entries[index].payload {
                    settled.append((payload, outcome(entries[index])))
                    entries[index].payload = nil
                    count -= 1
                }
                index += 1
            }
        } else if let index = indexOf(tag), let payload = entries[index].payload {
            settled.append((payload, outcome(entries[index])))
            entries[index].payload = nil
            count -= 1
        }
        compact()
        return settled
    }

    /// Marks the oldest unsettled, not yet returned publish matching `predicate` as returned.
    @discardableResult
    mutating func markReturned(replyCode: UInt16, replyText: String, where predicate: (Payload) -> Bool) -> Bool {
        var index = head
        while index < entries.count {
            if let payload = entries[index].payload, entries[index].returned == nil, predicate(payload) {
                entries[index].returned = (replyCode, replyText)
                return true
            }
            index += 1
        }
        return false
    }

    /// Removes and returns the oldest publishes while `expired` holds (they are in sending order).
    mutating func removeExpired(_ expired: (Payload) -> Bool) -> [Payload] {
        var removed: [Payload] = []
        var index = head
        while index < entries.count {
            if let payload = entries[index].payload {
                guard expired(payload) else { break }
                removed.append(payload)
                entries[index].payload = nil
                count -= 1
            }
            index += 1
        }
        compact()
        return removed
    }

    /// Removes every unsettled publish (connection lost) and restarts numbering for a new channel.
    mutating func removeAll() -> [Payload] {
        let payloads = entries[head...].compactMap(\.payload)
        entries.removeAll()
        head = 0
        count = 0
        nextSequence = 1
        return payloads
    }

    private func indexOf(_ sequence: UInt64) -> Int? {
        var low = head
        var high = entries.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let value = entries[middle].sequence
            if value == sequence { return middle }
            if value < sequence { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    private mutating func compact() {
        while head < entries.count, entries[head].payload == nil { head += 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
