/// Misbehaviours the console (and IAM) can be switched into, globally or per tenant, through the control API.
///
/// Every field is optional: `nil` means "not set here". A tenant's modes override the global ones field by field
/// (`merged(over:)`); screens before the tenant is known (login, tenant lookup) only see the global modes.
/// Screen names are the console's `data-screen` values (`tenant`, `tenant-verify`, `incident`, ...).
public struct FaultModes: Codable, Sendable, Equatable {
    /// Element ids are renamed (suffix `-v2`) on these screens; `["*"]` means every screen.
    public var idDrift: [String]?
    /// The console's broad scope (`console.broad_scope`) comes pre-checked and locked on the scope screen.
    public var broaderScopePrechecked: Bool?
    /// The console's broad scope comes pre-ticked on the scope screen, NOT locked: the browser can untick it (a map
    /// that only checks after filling would "correct" it and grant; issue 19.1).
    public var broaderScopePreselected: Bool?
    /// The expiration screen has no duration control; the console's maximum is used.
    public var expirationControlMissing: Bool?
    /// The tenant verification page shows the existing break-glass session banner even without a session.
    public var existingSessionBanner: Bool?
    /// The tenant verification page shows (and the flow continues with) another tenant than the one looked up.
    public var wrongTenantAfterLookup: Bool?
    /// The tenant verification page shows a second tenant-id element (a stale row, same id) naming another tenant,
    /// after the right one: an assertion that reads only the first match passes (issue 16.8).
    public var shadowTenantRow: Bool?
    /// This screen opens a JavaScript dialog as it loads (issue 16.8: a dialog must halt the flow, not be dismissed).
    public var dialogAtScreen: String?
    /// Every console response is delayed by this many milliseconds.
    public var pageDelayMs: Int?
    /// This screen answers with the console error page (HTTP 500) instead of itself.
    public var errorAtScreen: String?
    /// Reaching this screen ends the console session: the browser is sent back to login ("session expired").
    public var sessionExpiresAtScreen: String?
    /// The grant is made but the confirmation page shows no id, only the status `pending`.
    public var ambiguousConfirmation: Bool?
    /// The grant is made but the answer to the submit never arrives (the request hangs for
    /// `confirmationHangMs`, default 600000, or until a control reset).
    public var confirmationHang: Bool?
    public var confirmationHangMs: Int?
    /// The grant is made and confirmed but never shows in the IAM admin-state.
    public var grantAbsentFromIAM: Bool?
    /// The live sources' tenant and IAM admin-state answers for this tenant are sent one byte every this many
    /// milliseconds after their headers (a slow-drip source, issue 15.6).
    public var sourceDripMs: Int?
    /// This screen answers with a redirect to the same path on another origin (`localhost` instead of `127.0.0.1`,
    /// same port): a console that sends the browser elsewhere (issue 16.2). The simulator counts what reaches it
    /// there (`GET /control/offsite`).
    public var offsiteRedirectAtScreen: String?
    /// The revoke screen fails: `error` shows the error page and keeps the grant; `silent` says "revoked" but the
    /// session stays in IAM.
    public var revokeFailure: RevokeFailure?

    public enum RevokeFailure: String, Codable, Sendable, Equatable {
        case error
        case silent
    }

    public init(
        idDrift: [String]? = nil, broaderScopePrechecked: Bool? = nil, expirationControlMissing: Bool? = nil,
        existingSessionBanner: Bool? = nil, wrongTenantAfterLookup: Bool? = nil, pageDelayMs: Int? = nil,
        errorAtScreen: String? = nil, sessionExpiresAtScreen: String? = nil, ambiguousConfirmation: Bool? = nil,
        confirmationHang: Bool? = nil, confirmationHangMs: Int? = nil, grantAbsentFromIAM: Bool? = nil,
        revokeFailure: RevokeFailure? = nil, shadowTenantRow: Bool? = nil, dialogAtScreen: String? = nil,
        sourceDripMs: Int? = nil, offsiteRedirectAtScreen: String? = nil, broaderScopePreselected: Bool? = nil
    ) {
        self.broaderScopePreselected = broaderScopePreselected
        self.sourceDripMs = sourceDripMs
        self.offsiteRedirectAtScreen = offsiteRedirectAtScreen
        self.shadowTenantRow = shadowTenantRow
        self.dialogAtScreen = dialogAtScreen
        self.idDrift = idDrift
        self.broaderScopePrechecked = broaderScopePrechecked
        self.expirationControlMissing = expirationControlMissing
        self.existingSessionBanner = existingSessionBanner
        self.wrongTenantAfterLookup = wrongTenantAfterLookup
        self.pageDelayMs = pageDelayMs
        self.errorAtScreen = errorAtScreen
        self.sessionExpiresAtScreen = sessionExpiresAtScreen
        self.ambiguousConfirmation = ambiguousConfirmation
        self.confirmationHang = confirmationHang
        self.confirmationHangMs = confirmationHangMs
        self.grantAbsentFromIAM = grantAbsentFromIAM
        self.revokeFailure = revokeFailure
    }

    enum CodingKeys: String, CodingKey {
        case idDrift = "id_drift"
        case broaderScopePrechecked = "broader_scope_prechecked"
        case expirationControlMissing = "expiration_control_missing"
        case existingSessionBanner = "existing_session_banner"
        case wrongTenantAfterLookup = "wrong_tenant_after_lookup"
        case pageDelayMs = "page_delay_ms"
        case errorAtScreen = "error_at_screen"
        case sessionExpiresAtScreen = "session_expires_at_screen"
        case ambiguousConfirmation = "ambiguous_confirmation"
        case confirmationHang = "confirmation_hang"
        case confirmationHangMs = "confirmation_hang_ms"
        case grantAbsentFromIAM = "grant_absent_from_iam"
        case revokeFailure = "revoke_failure"
        case shadowTenantRow = "shadow_tenant_row"
        case dialogAtScreen = "dialog_at_screen"
        case sourceDripMs = "source_drip_ms"
        case offsiteRedirectAtScreen = "offsite_redirect_at_screen"
        case broaderScopePreselected = "broader_scope_preselected"
    }

    /// No fault at all.
    public static let none = FaultModes()

    /// `self` (a tenant's modes) over `base` (the global modes), field by field.
    public func merged(over base: FaultModes) -> FaultModes {
        FaultModes(
            idDrift: idDrift ?? base.idDrift,
            broaderScopePrechecked: broaderScopePrechecked ?? base.broaderScopePrechecked,
            expirationControlMissing: expirationControlMissing ?? base.expirationControlMissing,
            existingSessionBanner: existingSessionBanner ?? base.existingSessionBanner,
            wrongTenantAfterLookup: wrongTenantAfterLookup ?? base.wrongTenantAfterLookup,
            pageDelayMs: pageDelayMs ?? base.pageDelayMs,
            errorAtScreen: errorAtScreen ?? base.errorAtScreen,
            sessionExpiresAtScreen: sessionExpiresAtScreen ?? base.sessionExpiresAtScreen,
            ambiguousConfirmation: ambiguousConfirmation ?? base.ambiguousConfirmation,
            confirmationHang: confirmationHang ?? base.confirmationHang,
            confirmationHangMs: confirmationHangMs ?? base.confirmationHangMs,
            grantAbsentFromIAM: grantAbsentFromIAM ?? base.grantAbsentFromIAM,
            revokeFailure: revokeFailure ?? base.revokeFailure,
            shadowTenantRow: shadowTenantRow ?? base.shadowTenantRow,
            dialogAtScreen: dialogAtScreen ?? base.dialogAtScreen,
            sourceDripMs: sourceDripMs ?? base.sourceDripMs,
            offsiteRedirectAtScreen: offsiteRedirectAtScreen ?? base.offsiteRedirectAtScreen,
            broaderScopePreselected: broaderScopePreselected ?? base.broaderScopePreselected
        )
    }

    /// Whether element ids drift on `screen`.
    public func drifts(on screen: String) -> Bool {
        guard let idDrift else { return false }
        return idDrift.contains("*") || idDrift.contains(screen)
    }

    /// Rejects values that cannot mean anything (negative delays, unknown screens).
    public func validate() throws {
        if let pageDelayMs, !(0...120_000).contains(pageDelayMs) {
            throw SimulatorError.faultsInvalid("page_delay_ms must be 0...120000")
        }
        if let confirmationHangMs, !(0...3_600_000).contains(confirmationHangMs) {
            throw SimulatorError.faultsInvalid("confirmation_hang_ms must be 0...3600000")
        }
        if let sourceDripMs, !(1...60_000).contains(sourceDripMs) {
            throw SimulatorError.faultsInvalid("source_drip_ms must be 1...60000")
        }
        for screen in (idDrift ?? [])
            + [errorAtScreen, sessionExpiresAtScreen, offsiteRedirectAtScreen].compactMap({ $0 })
        where screen != "*" && !ConsoleScreen.allNames.contains(screen) {
            throw SimulatorError.faultsInvalid(
                "unknown screen \(screen); screens: \(ConsoleScreen.allNames.joined(separator: ", "))")
        }
    }
}
