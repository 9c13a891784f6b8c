/// Turns the acks of one batch into as few `basic.ack` frames as possible without ever acking a delivery
/// the application did not ack: a run of acked tags that starts at the lowest unsettled tag becomes one
/// `multiple` ack; the rest go out one by one. Delivery tags are per channel and start at 1 on every new
/// channel; `reset()` on reconnect.
struct AckCoalescer: Sendable {
    struct Frame: Equatable, Sendable {
        var tag: UInt64
        var multiple: Bool
    }

    /// Every tag below this one is settled (acked, nacked or rejected).
    private(set) var lowestUnsettled: UInt64 = 1
    /// Settled tags above `lowestUnsettled` (settled out of order).
    private var settledAbove: Set<UInt64> = []
    /// Acks of the current batch, not yet sent.
    private var pending: Set<UInt64> = []

    var hasPending: Bool { !pending.isEmpty }

    mutating func reset() {
        lowestUnsettled = 1
        settledAbove.removeAll()
        pending.removeAll()
    }

    /// Whether `tag` was already settled or is queued to be acked (a second settlement would make the broker
    /// close the channel with PRECONDITION_FAILED, so it must never be sent).
    func isSettled(_ tag: UInt64) -> Bool {
        tag < lowestUnsettled || settledAbove.contains(tag) || pending.contains(tag)
    }

    /// Queues an ack for the next `flush()`; false (nothing queued) when the tag is already settled.
    @discardableResult
    mutating func ack(_ tag: UInt64) -> Bool {
        guard tag > 0, !isSettled(tag) else { return false }
        pending.insert(tag)
        return true
    }

    /// Records a tag settled by a frame sent on its own (nack, reject); false when already settled.
    @discardableResult
    mutating func settledIndividually(_ tag: UInt64) -> Bool {
        guard tag > 0, !isSettled(tag) else { return false }
        markSettled(tag)
        return true
    }

    /// The frames to send for the queued acks, in order.
    mutating func flush() -> [Frame] {
        guard !pending.isEmpty else { return [] }
        var batch = pending
        pending.removeAll(keepingCapacity: true)
        var frames: [Frame] = []
        var top: UInt64?
        var count = 0
        while true {
            if batch.remove(lowestUnsettled) != nil {
                top = lowestUnsettled
                count += 1
            } else if settledAbove.remove(lowestUnsettled) == nil {
                break
            }
            lowestUnsettled += 1
        }
        if let top {
            frames.append(Frame(tag: top, multiple: count > 1))
        }
        for tag in batch.sorted() {
            frames.append(Frame(tag: tag, multiple: false))
            markSettled(tag)
        }
        return frames
    }

    private mutating func markSettled(_ tag: UInt64) {
        guard tag >= lowestUnsettled else { return }
        if tag == lowestUnsettled {
            lowestUnsettled += 1
            while settledAbove.remove(lowestUnsettled) != nil { lowestUnsettled += 1 }
        } else {
            settledAbove.insert(tag)
        }
    }
}
