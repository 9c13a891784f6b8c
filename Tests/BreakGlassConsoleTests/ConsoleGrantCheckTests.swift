@testable import BreakGlassConsole
import BreakGlassCore
import Foundation
import Testing

/// `ConsoleDriver.checkActiveGrants`' matching rule alone (the Chromium test is in
/// `TakeoverResumeTests.revokedGrantRefusesResume`).
@Suite("Console grant check before a resume (pure logic)")
struct ConsoleGrantCheckTests {
    @Test("the resume check counts a listed grant for the key in any status; other keys and tenants do not count")
    func resumeCheckMatchesAnyStatus() throws {
        let request = try RequestDecoder.decode(Array(Self.body))
        let grants = [
            ConsoleActiveGrant(
                confirmationID: "BG-REVOKED1", externalReference: "CASE-88121/tnt-4f9a2c", tenantID: "tnt-4f9a2c",
                status: "revoked", expiresAt: nil),
            ConsoleActiveGrant(
                confirmationID: "BG-OTHERKEY", externalReference: "CASE-1/tnt-4f9a2c", tenantID: "tnt-4f9a2c",
                status: "active", expiresAt: nil),
            ConsoleActiveGrant(
                confirmationID: "BG-OTHERTNT", externalReference: "CASE-88121/tnt-4f9a2c", tenantID: "tnt-0",
                status: "active", expiresAt: nil),
            ConsoleActiveGrant(
                confirmationID: "BG-EXPIRED1", externalReference: "CASE-88121/tnt-4f9a2c", tenantID: nil,
                status: "expired", expiresAt: nil),
        ]
        #expect(ConsoleDriver.matching(grants, for: request).map(\.confirmationID) == ["BG-REVOKED1", "BG-EXPIRED1"])
    }

    static let body = Data(
        """
        {"schema":"breakglass.restoration.approved/v1","request_id":"REQ-1","case_id":"CASE-88121",\
        "tenant":{"id":"tnt-4f9a2c","name":"Acme Corp"},"incident":{"id":"INC-5521"},\
        "requester":{"admin_id":"adm-7781","identity_assurance_ref":"IDV-9912"},\
        "privilege":{"role":"tenant-admin","scopes":["admins.restore","users.reset-mfa"],"duration_minutes":120},\
        "approvals":[{"role":"incident-command","approval_id":"APR-1","approver_id":"u-ic-12"},\
        {"role":"security","approval_id":"APR-2","approver_id":"u-sec-3"},\
        {"role":"customer-account-authority","approval_id":"APR-3","approver_id":"c-ceo-1"}],\
        "packet":{"id":"PKT-77","sha256":"23fe31254e0ef4cad1ac7ec26cb3f684d90828704d14856d223621fd022c1106"},\
        "enqueued_at":"2026-11-25T18:20:00Z","not_after":"2099-11-25T19:20:00Z"}
        """.utf8)
}
