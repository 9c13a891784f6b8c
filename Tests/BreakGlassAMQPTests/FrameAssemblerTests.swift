@testable import BreakGlassAMQP
import Testing

@Suite("FrameAssembler")
struct FrameAssemblerTests {
    static let delivery = FrameAssembler.Start.delivery(
        consumerTag: "c", deliveryTag: 7, redelivered: false, exchange: "x", routingKey: "k")
    static let returned = FrameAssembler.Start.returned(
        replyCode: 312, replyText: "NO_ROUTE", exchange: "x", routingKey: "k")

    static func body(
        _ assembler: inout FrameAssembler, channel: UInt16, _ bytes: [UInt8]
    ) throws -> FrameAssembler.Content? {
        try bytes.withUnsafeBytes { try assembler.body(channel: channel, fragment: $0) }
    }

    @Test func headerAndBodiesSplitAcrossFrames() throws {
        var assembler = FrameAssembler()
        var properties = AMQPProperties()
        properties.messageID = "m-1"
        assembler.begin(Self.delivery, channel: 1)
        #expect(try assembler.header(channel: 1, bodySize: 10, properties: properties) == nil)
        #expect(try Self.body(&assembler, channel: 1, [0, 1, 2, 3]) == nil)
        #expect(try Self.body(&assembler, channel: 1, []) == nil)
        let content = try #require(try Self.body(&assembler, channel: 1, [4, 5, 6, 7, 8, 9]))
        #expect(content.start == Self.delivery)
        #expect(content.body == Array(0...9))
        #expect(content.properties.messageID == "m-1")
        #expect(!assembler.isAssembling(channel: 1))
    }

    @Test func zeroLengthBodyCompletesWithTheHeader() throws {
        var assembler = FrameAssembler()
        assembler.begin(Self.delivery, channel: 1)
        let content = try #require(try assembler.header(channel: 1, bodySize: 0, properties: AMQPProperties()))
        #expect(content.body.isEmpty)
        #expect(throws: AMQPError.protocolError("content body without a header")) {
            try Self.body(&assembler, channel: 1, [1])
        }
    }

    @Test func channelsInterleave() throws {
        var assembler = FrameAssembler()
        assembler.begin(Self.delivery, channel: 1)
        assembler.begin(Self.returned, channel: 2)
        _ = try assembler.header(channel: 1, bodySize: 2, properties: AMQPProperties())
        _ = try assembler.header(channel: 2, bodySize: 2, properties: AMQPProperties())
        #expect(try Self.body(&assembler, channel: 2, [20]) == nil)
        #expect(try Self.body(&assembler, channel: 1, [10]) == nil)
        let returned = try #require(try Self.body(&assembler, channel: 2, [21]))
        let delivered = try #require(try Self.body(&assembler, channel: 1, [11]))
        #expect(returned.start == Self.returned && returned.body == [20, 21])
        #expect(delivered.start == Self.delivery && delivered.body == [10, 11])
    }

    @Test func frameOutOfOrderIsAProtocolError() {
        var assembler = FrameAssembler()
        #expect(throws: AMQPError.protocolError("content header without a method")) {
            try assembler.header(channel: 1, bodySize: 1, properties: AMQPProperties())
        }
        assembler.begin(Self.delivery, channel: 1)
        #expect(throws: AMQPError.protocolError("content body without a header")) {
            try Self.body(&assembler, channel: 1, [1])
        }
        #expect(throws: AMQPError.protocolError("content header without a method")) {
            try assembler.header(channel: 3, bodySize: 1, properties: AMQPProperties())
        }
    }

    @Test func oversizeBodyAndAnnouncedSizes() throws {
        var assembler = FrameAssembler()
        // More bytes than announced: the content completes with what came (the library checks frame sizes).
        assembler.begin(Self.delivery, channel: 1)
        _ = try assembler.header(channel: 1, bodySize: 2, properties: AMQPProperties())
        #expect(try Self.body(&assembler, channel: 1, [1, 2, 3])?.body == [1, 2, 3])
        // A huge announced size is not allocated up front; the content waits for its bytes.
        assembler.begin(Self.delivery, channel: 1)
        #expect(try assembler.header(channel: 1, bodySize: 1 << 40, properties: AMQPProperties()) == nil)
        #expect(try Self.body(&assembler, channel: 1, [1]) == nil)
        // A size beyond Int is refused.
        assembler.begin(Self.delivery, channel: 1)
        #expect(throws: AMQPError.protocolError("content body size out of range")) {
            try assembler.header(channel: 1, bodySize: .max, properties: AMQPProperties())
        }
    }

    @Test func aNewMethodOrAResetDropsAnUnfinishedContent() throws {
        var assembler = FrameAssembler()
        assembler.begin(Self.delivery, channel: 1)
        _ = try assembler.header(channel: 1, bodySize: 4, properties: AMQPProperties())
        #expect(try Self.body(&assembler, channel: 1, [1, 2]) == nil)
        assembler.begin(Self.delivery, channel: 1)
        _ = try assembler.header(channel: 1, bodySize: 1, properties: AMQPProperties())
        #expect(try Self.body(&assembler, channel: 1, [9])?.body == [9])
        assembler.begin(Self.delivery, channel: 1)
        assembler.reset()
        #expect(!assembler.isAssembling(channel: 1))
    }
}

extension FrameAssembler.Content: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.start == rhs.start && lhs.body == rhs.body && lhs.properties == rhs.properties
    }
}
