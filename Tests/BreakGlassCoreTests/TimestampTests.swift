import BreakGlassCore
import Foundation
import Testing

@Suite struct TimestampTests {
    @Test func roundTrip() {
        for text in ["1970-01-01T00:00:00Z", "2026-11-25T18:20:00Z", "2000-02-29T23:59:59Z", "2099-12-31T00:00:01Z"] {
            let date = Timestamp.parse(text)
            #expect(date != nil, "\(text)")
            #expect(date.map { Timestamp.format($0) } == text)
        }
        #expect(Timestamp.parse("2026-11-25T18:20:00Z")?.timeIntervalSince1970 == 1_795_630_800)
    }

    @Test(arguments: [
        "2026-11-25 18:20:00Z", "2026-11-25T18:20:00", "2026-11-25T24:00:00Z", "2026-13-01T00:00:00Z",
        "2025-02-29T00:00:00Z", "2026-11-25T18:20:00.Z", "2026-11-25T18:20:00.1234567890Z", "2026-11-25T18:20:00-05:00",
        "", "Z", "2026-11-25T18:20:60Z",
    ])
    func refusesNonUTCOrMalformed(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }
}
