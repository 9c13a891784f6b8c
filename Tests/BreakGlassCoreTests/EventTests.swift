import BreakGlassCore
import Foundation
import Testing

@Suite("CloudEvents (contract §5)")
struct EventTests {
    let factory = EventFactory(source: "urn:breakglass:worker:test")
    let key = RestorationKey(caseID: "CASE-1", tenantID: "tnt-1")
    let time = Timestamp.parse("2026-11-25T18:30:00Z")!

    @Test func sameLogicalEventSameID() {
        let a = factory.granted(
            key: key, requestID: "REQ-1", confirmationID: "BG-ABCDEFGH", scopes: ["s"], expiresAt: time, time: time)
        // Later, from another worker, through a replay with a new request id: still the key's one grant.
        let b = factory.granted(
            key: key, requestID: "REQ-2", confirmationID: "BG-ABCDEFGH", scopes: ["s"], expiresAt: time,
            time: time.addingTimeInterval(5))
        #expect(a.id == b.id)
        let other = factory.granted(
            key: RestorationKey(caseID: "CASE-1", tenantID: "tnt-2"), requestID: "REQ-1", confirmationID: "BG-X",
            scopes: [], expiresAt: time, time: time)
        #expect(a.id != other.id)
    }

    @Test func distinctLogicalEventsDistinctIDs() {
        var ids = Set<String>()
        ids.insert(
            factory.granted(key: key, requestID: "R", confirmationID: "BG-1", scopes: [], expiresAt: time, time: time)
                .id)
        ids.insert(
            factory.rejected(key: key, requestID: "R", bodySHA256: "aa", reasons: [.schemaInvalid], time: time).id)
        ids.insert(
            factory.rejected(key: key, requestID: "R", bodySHA256: "bb", reasons: [.schemaInvalid], time: time).id)
        for attempt in 0..<3 {
            ids.insert(
                factory.halted(
                    key: key, requestID: "R", attempt: attempt, stage: .gate, reasons: [.caseClosed], escalate: false,
                    takeoverID: "T", time: time
                ).id)
        }
        ids.insert(
            factory.evidenceReady(
                key: key, requestID: "R", bundleID: "B1", manifestSHA256: "m", location: "l", artifacts: 3, time: time
            ).id)
        ids.insert(
            factory.evidenceReady(
                key: key, requestID: "R", bundleID: "B2", manifestSHA256: "m", location: "l", artifacts: 3, time: time
            ).id)
        ids.insert(
            factory.revoked(key: key, confirmationID: "BG-1", revokedBy: "p", reason: "r", result: .revoked, time: time)
                .id)
        ids.insert(factory.resumed(key: key, takeoverID: "T", resumedBy: "p", note: "n", time: time).id)
        #expect(ids.count == 10)
    }

    @Test func idIsAVersion8UUID() {
        let id = EventID.derive(type: .outcome, subject: "a/b", discriminator: "granted")
        #expect(id.count == 36)
        #expect(UUID(uuidString: id) != nil)
        #expect(Array(id)[14] == "8")
        #expect(id == EventID.derive(type: .outcome, subject: "a/b", discriminator: "granted"))
    }

    @Test func structuredEncodingHasTheContractFields() throws {
        let event = factory.halted(
            key: key, requestID: "REQ-1", attempt: 0, stage: .preSubmit, reasons: [.approvalRevoked, .existingSession],
            escalate: false, takeoverID: "TK-1", time: time)
        let json = try JSONSerialization.jsonObject(with: event.encoded()) as! [String: Any]
        #expect(json["specversion"] as? String == "1.0")
        #expect(json["type"] as? String == "breakglass.restoration.halted")
        #expect(json["subject"] as? String == "CASE-1/tnt-1")
        #expect(json["source"] as? String == "urn:breakglass:worker:test")
        #expect(json["time"] as? String == "2026-11-25T18:30:00.000Z")
        // Contract 1.1: the $id of docs/contract/schemas/events/halted.schema.json.
        #expect(json["dataschema"] as? String == "urn:breakglass:schema:event:halted:v1")
        let data = json["data"] as! [String: Any]
        #expect(data["stage"] as? String == "pre-submit")
        #expect(data["reasons"] as? [String] == ["APPROVAL_REVOKED", "EXISTING_SESSION"])
        #expect(data["escalate"] as? Bool == false)
        #expect(data["takeover_id"] as? String == "TK-1")
        #expect(event.encoded() == event.encoded())
    }

    @Test func rejectedOutcomeWithoutKey() throws {
        let event = factory.rejected(
            key: nil, requestID: nil, bodySHA256: "abc", reasons: [.signatureInvalid], time: time)
        let json = try JSONSerialization.jsonObject(with: event.encoded()) as! [String: Any]
        let data = json["data"] as! [String: Any]
        #expect(data["result"] as? String == "rejected")
        #expect(data["reasons"] as? [String] == ["SIGNATURE_INVALID"])
    }

    @Test func reasonCodesSpelledAsTheContract() {
        #expect(ReasonCode.allCases.count == 36)
        #expect(ReasonCode.allCases.filter { $0.category == .rejected }.count == 7)
        #expect(ReasonCode.allCases.filter { $0.category == .gate }.count == 19)
        #expect(ReasonCode.allCases.filter { $0.category == .console }.count == 10)
        for code in ReasonCode.allCases {
            #expect(code.rawValue.allSatisfy { $0.isUppercase || $0 == "_" })
        }
    }
}
