import BreakGlassCore
import Foundation
import Testing

@Suite("Request decoding (contract §2)")
struct RequestDecoderTests {
    @Test func decodesTheContractExample() throws {
        let request = try RequestDecoder.decode(Array(RequestFixtures.validBody))
        #expect(request.requestID == "REQ-2026-000123")
        #expect(request.key == RestorationKey(caseID: "CASE-88121", tenantID: "tnt-4f9a2c"))
        #expect(request.tenant.name == "Acme Corp")
        #expect(request.privilege.scopes == ["admins.restore", "users.reset-mfa"])
        #expect(request.privilege.durationMinutes == 120)
        #expect(request.approvals.map(\.role) == ["incident-command", "security", "customer-account-authority"])
        #expect(request.enqueuedAt == Timestamp.parse("2026-11-25T18:20:00Z"))
        #expect(request.notAfter.timeIntervalSince(request.enqueuedAt) == 3600)
    }

    /// One bad message per rule: (name, body, expected code, a fragment of the detail naming the field).
    static let badBodies: [(String, Data, ReasonCode, String)] = {
        let f = RequestFixtures.self
        let valid = f.validBody
        var cases: [(String, Data, ReasonCode, String)] = [
            ("truncated JSON", valid.prefix(valid.count / 2), .schemaInvalid, "body"),
            ("empty body", Data(), .schemaInvalid, "body"),
            ("not an object", Data("[1,2,3]".utf8), .schemaInvalid, "body"),
            ("trailing garbage", valid + Data("x".utf8), .schemaInvalid, "body"),
            ("invalid UTF-8", Data([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]), .schemaInvalid, "UTF-8"),
            ("overlong UTF-8", Data([0x7B, 0x22, 0xC0, 0xAF, 0x22, 0x3A, 0x31, 0x7D]), .schemaInvalid, "UTF-8"),
            ("huge payload", Data(repeating: 0x20, count: 64 * 1024 + 1), .payloadTooLarge, "body"),
            ("duplicate member", Data(#"{"schema":"a","schema":"b"}"#.utf8), .schemaInvalid, "duplicate"),
            (
                "deep nesting", Data((String(repeating: "[", count: 200) + String(repeating: "]", count: 200)).utf8),
                .schemaInvalid, "nesting"
            ),
            ("wrong schema", f.mutated("schema", .set("breakglass.restoration.approved/v2")), .schemaInvalid, "schema"),
            ("schema not a string", f.mutated("schema", .set(1)), .schemaInvalid, "schema"),
            ("request_id pattern", f.mutated("request_id", .set("-starts-with-dash")), .schemaInvalid, "request_id"),
            (
                "request_id too long", f.mutated("request_id", .set(String(repeating: "a", count: 129))),
                .schemaInvalid, "request_id"
            ),
            ("request_id with space", f.mutated("request_id", .set("REQ 1")), .schemaInvalid, "request_id"),
            ("case_id wrong type", f.mutated("case_id", .set(88121)), .schemaInvalid, "case_id"),
            ("case_id null", f.mutated("case_id", .set(NSNull())), .schemaInvalid, "case_id"),
            ("tenant not an object", f.mutated("tenant", .set("tnt-4f9a2c")), .schemaInvalid, "tenant"),
            ("tenant name empty", f.mutated("tenant.name", .set("")), .schemaInvalid, "tenant.name"),
            (
                "tenant name control char", f.mutated("tenant.name", .set("Acme\u{0007}Corp")), .schemaInvalid,
                "tenant.name"
            ),
            ("tenant id slash", f.mutated("tenant.id", .set("tnt/4f9a2c")), .schemaInvalid, "tenant.id"),
            ("incident id wrong type", f.mutated("incident.id", .set(["INC-5521"])), .schemaInvalid, "incident.id"),
            (
                "requester identity ref pattern", f.mutated("requester.identity_assurance_ref", .set("IDV 9912")),
                .schemaInvalid, "requester.identity_assurance_ref"
            ),
            (
                "privilege role pattern", f.mutated("privilege.role", .set("tenant admin")), .schemaInvalid,
                "privilege.role"
            ),
            ("scopes empty", f.mutated("privilege.scopes", .set([String]())), .schemaInvalid, "privilege.scopes"),
            (
                "scopes duplicate", f.mutated("privilege.scopes", .set(["admins.restore", "admins.restore"])),
                .schemaInvalid, "privilege.scopes[1]"
            ),
            (
                "scope wrong type", f.mutated("privilege.scopes", .set(["admins.restore", 7])), .schemaInvalid,
                "privilege.scopes[1]"
            ),
            (
                "scopes not an array", f.mutated("privilege.scopes", .set("admins.restore")), .schemaInvalid,
                "privilege.scopes"
            ),
            (
                "duration zero", f.mutated("privilege.duration_minutes", .set(0)), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            (
                "duration over 1440", f.mutated("privilege.duration_minutes", .set(1441)), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            (
                "duration negative", f.mutated("privilege.duration_minutes", .set(-5)), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            (
                "duration fractional", f.mutated("privilege.duration_minutes", .set(90.5)), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            (
                "duration as string", f.mutated("privilege.duration_minutes", .set("120")), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            (
                "duration boolean", f.mutated("privilege.duration_minutes", .set(true)), .schemaInvalid,
                "privilege.duration_minutes"
            ),
            ("approvals empty", f.mutated("approvals", .set([Any]())), .schemaInvalid, "approvals"),
            ("approvals not an array", f.mutated("approvals", .set(["role": "security"])), .schemaInvalid, "approvals"),
            ("approval not an object", f.mutated("approvals.0", .set("APR-1")), .schemaInvalid, "approvals[0]"),
            (
                "duplicate approval role", f.mutated("approvals.1.role", .set("incident-command")), .schemaInvalid,
                "approvals[1].role"
            ),
            (
                "approval id missing", f.mutated("approvals.2.approval_id", .remove), .schemaInvalid,
                "approvals[2].approval_id"
            ),
            (
                "approver id pattern", f.mutated("approvals.0.approver_id", .set("u ic 12")), .schemaInvalid,
                "approvals[0].approver_id"
            ),
            ("packet hash short", f.mutated("packet.sha256", .set("abc123")), .schemaInvalid, "packet.sha256"),
            (
                "packet hash not hex", f.mutated("packet.sha256", .set(String(repeating: "g", count: 64))),
                .schemaInvalid, "packet.sha256"
            ),
            ("time without zone", f.mutated("enqueued_at", .set("2026-11-25T18:20:00")), .schemaInvalid, "enqueued_at"),
            (
                "time with other offset", f.mutated("not_after", .set("2026-11-25T20:20:00+01:00")), .schemaInvalid,
                "not_after"
            ),
            ("date only", f.mutated("not_after", .set("2026-11-25")), .schemaInvalid, "not_after"),
            ("impossible date", f.mutated("enqueued_at", .set("2026-02-30T18:20:00Z")), .schemaInvalid, "enqueued_at"),
            (
                "not_after before enqueued_at", f.mutated("not_after", .set("2026-11-25T18:00:00Z")), .schemaInvalid,
                "not_after"
            ),
        ]
        for field in [
            "schema", "request_id", "case_id", "tenant", "incident", "requester", "privilege", "approvals",
            "packet", "enqueued_at", "not_after", "tenant.id", "tenant.name", "requester.admin_id",
            "privilege.role", "privilege.scopes", "privilege.duration_minutes", "packet.id", "packet.sha256",
            "incident.id",
        ] {
            cases.append(("missing \(field)", f.mutated(field, .remove), .schemaInvalid, field))
        }
        return cases
    }()

    @Test("every bad body is rejected with its exact code", arguments: Self.badBodies.indices)
    func rejectsBadBody(index: Int) {
        let (name, body, code, fragment) = Self.badBodies[index]
        do {
            _ = try RequestDecoder.decode(Array(body))
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.code == code, "\(name)")
            #expect(error.detail.contains(fragment), "\(name): detail '\(error.detail)' should name \(fragment)")
        }
    }

    @Test func atLeastFortyDistinctBadMessages() {
        #expect(Self.badBodies.count >= 40)
        #expect(Set(Self.badBodies.map(\.0)).count == Self.badBodies.count)
    }

    @Test func detailsNeverEchoValues() {
        let secretish = "SECRET-VALUE-canary-123 with spaces"
        for path in ["request_id", "tenant.id", "packet.sha256", "privilege.role", "approvals.0.approver_id"] {
            do {
                _ = try RequestDecoder.decode(Array(RequestFixtures.mutated(path, .set(secretish))))
                Issue.record("accepted \(path)")
            } catch {
                #expect(!error.detail.contains("canary"))
                #expect(!error.description.contains("canary"))
            }
        }
    }

    /// Issue 21: control characters are found by value, no longer by a general-category lookup per scalar. Every
    /// scalar of the ranges where controls, format characters and separators live (and samples beyond) is rejected
    /// exactly when Unicode calls it a control (`Cc`), as the lookup did.
    @Test func controlCharactersAreExactlyUnicodesControlCategory() throws {
        var values = Array(UInt32(0)...0x2FF) + Array(UInt32(0x2000)...0x206F) + Array(UInt32(0xFFF0)...0xFFFD)
        values += [0x061C, 0x180E, 0xFEFF, 0x1D173, 0xE0001, 0xE007F, 0xF0000, 0x10FFFD]
        var rejected = 0
        for value in values {
            let scalar = try #require(Unicode.Scalar(value))
            // JSON escapes what it must: the decoder sees the scalar itself, whatever its encoding on the wire.
            let body = RequestFixtures.mutated("tenant.name", .set("Acme\(Character(scalar))Corp"))
            let control = scalar.properties.generalCategory == .control
            do {
                _ = try RequestDecoder.decode(Array(body))
                #expect(!control, "U+\(String(value, radix: 16)) is a control character and was accepted")
            } catch {
                #expect(control, "U+\(String(value, radix: 16)) was rejected: \(error.detail)")
                #expect(error.detail.contains("control characters"))
                rejected += 1
            }
        }
        #expect(rejected == 65, "U+0000-U+001F and U+007F-U+009F")
    }

    @Test func unknownFieldsAreIgnoredAndHexIsNormalised() throws {
        let body = RequestFixtures.mutated("packet.sha256", .set(String(repeating: "AB", count: 32)))
        let request = try RequestDecoder.decode(Array(body))
        #expect(request.packet.sha256 == String(repeating: "ab", count: 32))
    }

    @Test func acceptsFractionalSecondsAndZeroOffset() throws {
        var object = RequestFixtures.validObject()
        object["enqueued_at"] = "2026-11-25T18:20:00.123Z"
        object["not_after"] = "2026-11-25T19:20:00+00:00"
        let request = try RequestDecoder.decode(Array(RequestFixtures.body(object)))
        #expect(
            abs(
                request.enqueuedAt.timeIntervalSince1970
                    - (Timestamp.parse("2026-11-25T18:20:00Z")!.timeIntervalSince1970 + 0.123)) < 0.0001)
    }

    @Test func limitsAreInclusive() throws {
        for minutes in [1, 1440] {
            let request = try RequestDecoder.decode(
                Array(RequestFixtures.mutated("privilege.duration_minutes", .set(minutes))))
            #expect(request.privilege.durationMinutes == minutes)
        }
        let longest = "a" + String(repeating: "b", count: 127)
        let request = try RequestDecoder.decode(Array(RequestFixtures.mutated("request_id", .set(longest))))
        #expect(request.requestID == longest)
    }
}
