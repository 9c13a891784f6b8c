@testable import BreakGlassAMQP
import Testing

@Suite struct AckCoalescerTests {
    @Test func inOrderAcksBecomeOneMultipleAck() {
        var coalescer = AckCoalescer()
        for tag in 1...5 { coalescer.ack(UInt64(tag)) }
        #expect(coalescer.flush() == [.init(tag: 5, multiple: true)])
        coalescer.ack(6)
        #expect(coalescer.flush() == [.init(tag: 6, multiple: false)])
        #expect(coalescer.lowestUnsettled == 7)
    }

    @Test func gapsAreNeverCoveredByAMultipleAck() {
        var coalescer = AckCoalescer()
        coalescer.ack(1)
        coalescer.ack(2)
        coalescer.ack(4)
        coalescer.ack(5)
        // Tag 3 is still being processed by the application: 4 and 5 go out one by one.
        #expect(
            coalescer.flush() == [
                .init(tag: 2, multiple: true), .init(tag: 4, multiple: false), .init(tag: 5, multiple: false),
            ])
        coalescer.ack(3)
        coalescer.ack(6)
        // 3 closes the gap; 4 and 5 are already settled, so a multiple ack up to 6 covers exactly 3 and 6.
        #expect(coalescer.flush() == [.init(tag: 6, multiple: true)])
        #expect(coalescer.lowestUnsettled == 7)
    }

    @Test func nackedTagsAreSkippedAndDoubleSettlementRefused() {
        var coalescer = AckCoalescer()
        let first = coalescer.settledIndividually(1)
        #expect(first)
        coalescer.ack(2)
        let duplicate = coalescer.ack(2)
        #expect(duplicate == false)
        #expect(coalescer.flush() == [.init(tag: 2, multiple: false)])
        let late = coalescer.ack(1)
        #expect(late == false)
        let again = coalescer.settledIndividually(2)
        #expect(again == false)
        #expect(coalescer.isSettled(2))
        #expect(!coalescer.isSettled(3))
    }

    @Test func randomOrderNeverAcksAnUnackedTag() {
        for _ in 0..<200 {
            var coalescer = AckCoalescer()
            let tags = (1...50).map(UInt64.init).shuffled()
            var acked = Set<UInt64>()
            var brokerSettled = Set<UInt64>()
            for chunk in stride(from: 0, to: tags.count, by: 7).map({ Array(tags[$0..<min($0 + 7, tags.count)]) }) {
                for tag in chunk {
                    coalescer.ack(tag)
                    acked.insert(tag)
                }
                for frame in coalescer.flush() {
                    let covered: [UInt64] =
                        frame.multiple ? (1...frame.tag).filter { !brokerSettled.contains($0) } : [frame.tag]
                    for tag in covered {
                        #expect(acked.contains(tag), "tag \(tag) acked without the application acking it")
                        #expect(!brokerSettled.contains(tag))
                        brokerSettled.insert(tag)
                    }
                }
            }
            #expect(brokerSettled == Set(1...50))
        }
    }
}
