import BreakGlassCore
import Foundation
import Testing

/// Issue 21: the duplicate's fast path remembers messages verified in full, by the digest of their exact bytes.
@Suite("Verified-message cache: exact bytes only, bounded")
struct VerifiedMessageCacheTests {
    let f = RequestFixtures.self

    static let header = RequestFixtures.header(for: RequestFixtures.validBody)

    func verified() throws -> (VerifiedMessageCache.Entry, VerifiedMessageCache.Digest) {
        let body = f.validBody
        let request = try f.verifier.verify(body: body, signatureHeader: Self.header, now: f.now)
        return (.init(request), .init(body: body, signatureHeader: Self.header))
    }

    @Test func theSameBytesHitAndCarryTheKeyAndExpiry() throws {
        let cache = VerifiedMessageCache()
        let (entry, digest) = try verified()
        #expect(cache.entry(for: digest) == nil)
        cache.insert(entry, for: digest)
        let again = VerifiedMessageCache.Digest(body: Data(f.validBody), signatureHeader: Self.header)
        let hit = try #require(cache.entry(for: again))
        #expect(hit.key == RestorationKey(caseID: "CASE-88121", tenantID: entry.key.tenantID))
        #expect(hit.notAfter == entry.notAfter)
    }

    @Test func anyOtherByteOrHeaderMisses() throws {
        let cache = VerifiedMessageCache()
        let (entry, digest) = try verified()
        cache.insert(entry, for: digest)
        let header = Self.header
        var body = f.validBody
        body[body.startIndex] = UInt8(ascii: " ")
        #expect(cache.entry(for: .init(body: body, signatureHeader: header)) == nil, "a changed body")
        #expect(cache.entry(for: .init(body: f.validBody, signatureHeader: header + "x")) == nil, "a changed header")
        #expect(cache.entry(for: .init(body: f.validBody, signatureHeader: nil)) == nil, "no header")
        // Moving bytes between body and header must not collide (the separator).
        #expect(
            VerifiedMessageCache.Digest(body: Data("ab".utf8), signatureHeader: "c")
                != VerifiedMessageCache.Digest(body: Data("a".utf8), signatureHeader: "bc"))
    }

    @Test func theOldestLeaveFirstAndTheSizeStaysBounded() throws {
        let cache = VerifiedMessageCache(capacity: 3)
        let (entry, _) = try verified()
        let digests = (0..<5).map { VerifiedMessageCache.Digest(body: Data("m\($0)".utf8), signatureHeader: "h") }
        for digest in digests { cache.insert(entry, for: digest) }
        #expect(cache.count == 3)
        #expect(cache.entry(for: digests[0]) == nil && cache.entry(for: digests[1]) == nil)
        #expect(digests[2...].allSatisfy { cache.entry(for: $0) != nil })
        cache.insert(entry, for: digests[4])
        #expect(cache.count == 3, "inserting a known digest again takes no slot")
        #expect(cache.entry(for: digests[2]) != nil)
    }
}
