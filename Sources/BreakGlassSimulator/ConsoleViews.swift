/// The HTML of each console screen (the page body inside `<main data-screen=...>`). Every value is escaped.
enum ConsoleViews {
    static func login(_ p: ConsolePage, expired: Bool, error: String?) -> String {
        let banner =
            expired
            ? "<div\(p.id("session-expired-banner")) class=\"banner banner-warning\" role=\"alert\">Your session has expired. Sign in again.</div>"
            : ""
        return """
            \(banner)
            \(p.formError(error))
            <form\(p.id("login-form")) method="post" action="/console/login">
              \(p.csrfField)
              <label for="\(p.drift ? "username-v2" : "username")">Service account</label>
              <input type="text" name="username"\(p.id("username")) autocomplete="username">
              <label for="\(p.drift ? "password-v2" : "password")">Password</label>
              <input type="password" name="password"\(p.id("password")) autocomplete="current-password">
              <div class="actions"><button type="submit"\(p.id("login-submit")) class="primary">Sign in</button></div>
            </form>
            """
    }

    static func tenant(_ p: ConsolePage, flow: ConsoleFlow, error: String?) -> String {
        """
        \(p.formError(error))
        <form\(p.id("tenant-form")) method="post" action="/console/tenant">
          \(p.csrfField)
          <label>Tenant id <input type="text" name="tenant_id"\(p.id("tenant-id")) value="\((flow.tenantID ?? "").html)" autocomplete="off"></label>
          <label>External reference <input type="text" name="external_reference"\(p.id("external-reference")) value="\((flow.externalReference ?? "").html)" autocomplete="off"></label>
          <p class="hint">The external reference identifies this request in your ticketing system; the console refuses a second grant for the same one.</p>
          \(p.flowButtons(next: "Look up tenant"))
        </form>
        """
    }

    static func tenantVerify(
        _ p: ConsolePage, tenant: SimulatorFixtures.Tenant, flow: ConsoleFlow,
        sessions: [SimulatorFixtures.Session], error: String?, shadowTenantID: String? = nil
    ) -> String {
        var banner = ""
        if let first = sessions.first {
            banner = """
                <div\(p.id("existing-session-banner")) class="banner banner-warning" role="alert">
                  An unexpired break-glass session already exists for this tenant:
                  <span\(p.id("existing-session-ref"))>\(first.grantRef.html)</span>, expires
                  <span\(p.id("existing-session-expires-at"))>\(first.expiresAt.html)</span>.
                </div>
                """
        }
        return """
            \(banner)
            \(p.formError(error))
            <dl\(p.id("tenant-details")) class="values">
              <dt>Tenant id</dt><dd\(p.id("tenant-display-id"))>\(tenant.tenantID.html)</dd>
              <dt>Name</dt><dd\(p.id("tenant-display-name"))>\(tenant.name.html)</dd>
              <dt>Region</dt><dd\(p.id("tenant-display-region"))>\(tenant.region.html)</dd>
              <dt>Status</dt><dd\(p.id("tenant-display-status"))>\(tenant.status.html)</dd>
              <dt>Customer contact</dt><dd\(p.id("tenant-contact-email"))>\(tenant.contactEmail.html)</dd>
              <dt>External reference</dt><dd\(p.id("external-reference-display"))>\((flow.externalReference ?? "").html)</dd>
            </dl>
            \(shadowTenantID.map { "<dl class=\"values stale\"><dt>Tenant id</dt><dd\(p.id("tenant-display-id"))>\($0.html)</dd></dl>" } ?? "")
            <form\(p.id("tenant-verify-form")) method="post" action="/console/tenant/verify">
              \(p.csrfField)
              \(p.flowButtons(next: "Confirm tenant and continue"))
              <a\(p.id("change-tenant")) href="/console/tenant">Change tenant</a>
            </form>
            """
    }

    static func incident(_ p: ConsolePage, flow: ConsoleFlow, error: String?) -> String {
        """
        \(p.formError(error))
        <form\(p.id("incident-form")) method="post" action="/console/incident">
          \(p.csrfField)
          <label>Incident id <input type="text" name="incident_id"\(p.id("incident-id")) value="\((flow.incidentID ?? "").html)" autocomplete="off"></label>
          \(p.flowButtons(next: "Look up incident"))
        </form>
        """
    }

    static func incidentVerify(
        _ p: ConsolePage, incident: SimulatorFixtures.Incident, flow: ConsoleFlow, error: String?
    ) -> String {
        """
        \(p.formError(error))
        <dl\(p.id("incident-details")) class="values">
          <dt>Incident id</dt><dd\(p.id("incident-display-id"))>\(incident.incidentID.html)</dd>
          <dt>Title</dt><dd\(p.id("incident-title"))>\(incident.title.html)</dd>
          <dt>Status</dt><dd\(p.id("incident-status"))>\(incident.status.html)</dd>
          <dt>Tenants</dt><dd\(p.id("incident-tenants"))>\(incident.tenantIDs.joined(separator: ", ").html)</dd>
        </dl>
        <form\(p.id("incident-verify-form")) method="post" action="/console/incident/verify">
          \(p.csrfField)
          \(p.flowButtons(next: "Confirm incident and continue"))
          <a\(p.id("change-incident")) href="/console/incident">Change incident</a>
        </form>
        """
    }

    /// `scope-admins-restore` for `admins.restore`.
    static func scopeSlug(_ scope: String) -> String {
        String(scope.map { $0.isLetter || $0.isNumber ? $0 : "-" }).lowercased()
    }

    static func scope(
        _ p: ConsolePage, options: [SimulatorFixtures.OfferedScope], chosen: [String]?,
        locked: String?, error: String?
    ) -> String {
        var rows = ""
        for option in options {
            let isLocked = option.scope == locked
            let checked = isLocked || (chosen?.contains(option.scope) ?? option.prechecked)
            let slug = "scope-" + scopeSlug(option.scope)
            let lockAttributes = isLocked ? " onclick=\"return false\" data-locked=\"true\"" : ""
            rows += """
                  <div class="scope-option">
                    <input type="checkbox" name="scope" value="\(option.scope.html)"\(p.id(slug)) data-scope="\(option.scope.html)"\(checked ? " checked" : "")\(lockAttributes)>
                    <label for="\(p.drift ? slug + "-v2" : slug)">\(option.label.html) <code>\(option.scope.html)</code>\(isLocked ? " (required by console policy)" : "")</label>
                  </div>

                """
        }
        return """
            \(p.formError(error))
            <form\(p.id("scope-form")) method="post" action="/console/scope">
              \(p.csrfField)
              <fieldset\(p.id("scope-options"))>
                <legend>Scopes of the temporary privilege</legend>
            \(rows)  </fieldset>
              \(p.flowButtons())
            </form>
            """
    }

    static func expiration(
        _ p: ConsolePage, flow: ConsoleFlow, maximum: Int, controlMissing: Bool, error: String?
    ) -> String {
        let control =
            controlMissing
            ? "<p\(p.id("duration-default"))>This console applies its maximum duration of \(maximum) minutes.</p>"
            : """
            <label>Duration (minutes) <input type="number" name="duration_minutes"\(p.id("duration-minutes")) min="1" max="\(maximum)" value="\(flow.durationMinutes.map(String.init) ?? "")"></label>
            <p\(p.id("expires-preview")) class="hint"></p>
            """
        return """
            \(p.formError(error))
            <form\(p.id("expiration-form")) method="post" action="/console/expiration">
              \(p.csrfField)
              \(control)
              <p>Maximum: <span\(p.id("duration-max"))>\(maximum)</span> minutes</p>
              \(p.flowButtons())
            </form>
            """
    }

    static let expirationScript = """
        (function () {
          var input = document.querySelector('input[name=duration_minutes]');
          var preview = document.querySelector('.hint');
          if (!input || !preview) { return; }
          function update() {
            var minutes = parseInt(input.value, 10);
            if (isNaN(minutes) || minutes < 1) { preview.textContent = ''; return; }
            var at = new Date(Date.now() + minutes * 60000);
            preview.textContent = 'Access would expire at about ' + at.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
          }
          input.addEventListener('input', update);
          update();
        })();
        """

    static func approvals(_ p: ConsolePage, flow: ConsoleFlow, error: String?) -> String {
        """
        \(p.formError(error))
        <form\(p.id("approvals-form")) method="post" action="/console/approvals">
          \(p.csrfField)
          <label>Approval references (comma separated) <input type="text" name="approval_references"\(p.id("approval-references")) value="\((flow.approvalReferences ?? []).joined(separator: ", ").html)" autocomplete="off"></label>
          <label>Approval packet id <input type="text" name="packet_id"\(p.id("packet-id")) value="\((flow.packetID ?? "").html)" autocomplete="off"></label>
          <label>Approval packet SHA-256 <input type="text" name="packet_sha256"\(p.id("packet-sha256")) value="\((flow.packetSHA256 ?? "").html)" autocomplete="off"></label>
          \(p.flowButtons())
        </form>
        """
    }

    static func acknowledgement(
        _ p: ConsolePage, flow: ConsoleFlow, tenantName: String, incidentTitle: String, error: String?
    ) -> String {
        let scopes = (flow.scopes ?? []).map { "<li class=\"summary-scope\" data-scope=\"\($0.html)\">\($0.html)</li>" }
            .joined()
        return """
            \(p.formError(error))
            <dl\(p.id("review-summary")) class="values">
              <dt>Tenant id</dt><dd\(p.id("summary-tenant-id"))>\((flow.effectiveTenantID ?? "").html)</dd>
              <dt>Tenant name</dt><dd\(p.id("summary-tenant-name"))>\(tenantName.html)</dd>
              <dt>External reference</dt><dd\(p.id("summary-external-reference"))>\((flow.externalReference ?? "").html)</dd>
              <dt>Incident</dt><dd\(p.id("summary-incident-id"))>\((flow.incidentID ?? "").html)</dd>
              <dt>Incident title</dt><dd\(p.id("summary-incident-title"))>\(incidentTitle.html)</dd>
              \(p.layout == .alternate
              ? "<dt>Scopes</dt><dd\(p.id("summary-scopes-text"))>\((flow.scopes ?? []).joined(separator: ", ").html)</dd>"
              : "<dt>Scopes</dt><dd><ul\(p.id("summary-scopes"))>\(scopes)</ul></dd>")
              <dt>Duration (minutes)</dt><dd\(p.id("summary-duration-minutes"))>\(flow.durationMinutes.map(String.init) ?? "")</dd>
              <dt>Approval references</dt><dd\(p.id("summary-approval-references"))>\((flow.approvalReferences ?? []).joined(separator: ", ").html)</dd>
              <dt>Approval packet id</dt><dd\(p.id("summary-packet-id"))>\((flow.packetID ?? "").html)</dd>
              <dt>Approval packet SHA-256</dt><dd\(p.id("summary-packet-sha256"))>\((flow.packetSHA256 ?? "").html)</dd>
            </dl>
            <form\(p.id("acknowledgement-form")) method="post" action="/console/submit">
              \(p.csrfField)
              <label><input type="checkbox" name="acknowledge" value="yes"\(p.id("acknowledge"))> I confirm this emergency access is approved, necessary and time-limited.</label>
              <div class="actions">
                <button type="submit" name="action" value="submit"\(p.id("submit")) class="primary">Grant break-glass access</button>
                <button type="submit" name="action" value="save-draft"\(p.id("save-draft")) formnovalidate>Save draft</button>
              </div>
            </form>
            """
    }

    /// The submit button stays disabled until the acknowledgement is ticked.
    static let acknowledgementScript = """
        (function () {
          var box = document.querySelector('input[name=acknowledge]');
          var submit = document.querySelector('button[value=submit]');
          if (!box || !submit) { return; }
          function update() { submit.disabled = !box.checked; }
          box.addEventListener('change', update);
          update();
        })();
        """

    static func confirmation(_ p: ConsolePage, grant: SimulatorGrant) -> String {
        """
        <div class="banner banner-info"\(p.id("confirmation-banner"))>Break-glass access granted.</div>
        \(p.layout == .alternate
            ? "<p\(p.id("confirmation-sentence"))>Break-glass grant \(grant.confirmationID.html) is now \(grant.status.html).</p>" : "")
        <dl\(p.id("confirmation-details")) class="values">
          \(p.layout == .alternate ? "" : "<dt>Confirmation id</dt><dd\(p.id("confirmation-id"))>\(grant.confirmationID.html)</dd>")
          <dt>Status</dt><dd\(p.id("confirmation-status"))>\(grant.status.html)</dd>
          <dt>Expires at</dt><dd\(p.id("confirmation-expires-at"))>\(grant.expiresAt.html)</dd>
          <dt>Tenant id</dt><dd\(p.id("confirmation-tenant-id"))>\(grant.tenantID.html)</dd>
          <dt>External reference</dt><dd\(p.id("confirmation-external-reference"))>\(grant.externalReference.html)</dd>
          <dt>Scopes</dt><dd\(p.id("confirmation-scopes"))>\(grant.scopes.joined(separator: ", ").html)</dd>
          <dt>Duration (minutes)</dt><dd\(p.id("confirmation-duration-minutes"))>\(grant.durationMinutes)</dd>
        </dl>
        """
    }

    static func pendingConfirmation(_ p: ConsolePage) -> String {
        """
        <div class="banner banner-info"\(p.id("confirmation-banner"))>Your request has been received.</div>
        <dl\(p.id("confirmation-details")) class="values">
          <dt>Status</dt><dd\(p.id("confirmation-status"))>pending</dd>
        </dl>
        <p\(p.id("confirmation-message"))>The request is being processed. Check the active grants later.</p>
        """
    }

    static func grantExists(_ p: ConsolePage, grant: SimulatorGrant) -> String {
        """
        <p\(p.id("error-message")) class="form-error" role="alert">grant already exists: \(grant.confirmationID.html)</p>
        <dl class="values">
          <dt>Existing confirmation id</dt><dd\(p.id("existing-confirmation-id"))>\(grant.confirmationID.html)</dd>
          <dt>External reference</dt><dd\(p.id("existing-external-reference"))>\(grant.externalReference.html)</dd>
          <dt>Status</dt><dd\(p.id("existing-status"))>\(grant.status.html)</dd>
        </dl>
        <p>No new access was granted.</p>
        """
    }

    static func draftSaved(_ p: ConsolePage, id: String, screen: ConsoleScreen) -> String {
        """
        <p>The draft was saved. Nothing was granted.</p>
        <dl class="values">
          <dt>Draft id</dt><dd\(p.id("draft-id"))>\(id.html)</dd>
          <dt>Saved at screen</dt><dd\(p.id("draft-screen"))>\(screen.rawValue.html)</dd>
        </dl>
        <a\(p.id("draft-open-link")) href="/console/drafts/\(id.urlComponent)">Reopen this draft</a>
        """
    }

    static func grants(_ p: ConsolePage, grants: [SimulatorGrant], tenantID: String?, reference: String?) -> String {
        var rows = ""
        for grant in grants {
            let revoke =
                grant.status == "active"
                ? "<a class=\"grant-revoke\"\(p.id("revoke-" + grant.confirmationID)) href=\"/console/grants/\(grant.confirmationID.urlComponent)/revoke\">Revoke</a>"
                : ""
            rows += """
                    <tr class="grant-row" data-confirmation-id="\(grant.confirmationID.html)" data-external-reference="\(grant.externalReference.html)" data-tenant-id="\(grant.tenantID.html)" data-status="\(grant.status.html)">
                      <td class="grant-confirmation-id">\(grant.confirmationID.html)</td>
                      <td class="grant-tenant-id">\(grant.tenantID.html)</td>
                      <td class="grant-external-reference">\(grant.externalReference.html)</td>
                      <td class="grant-scopes">\(grant.scopes.joined(separator: ", ").html)</td>
                      <td class="grant-status">\(grant.status.html)</td>
                      <td class="grant-expires-at">\(grant.expiresAt.html)</td>
                      <td>\(revoke)</td>
                    </tr>

                """
        }
        let table =
            grants.isEmpty
            ? "<p\(p.id("grants-empty"))>No grants found.</p>"
            : """
            <table\(p.id("grants-table"))>
              <thead><tr><th>Confirmation id</th><th>Tenant</th><th>External reference</th><th>Scopes</th><th>Status</th><th>Expires at</th><th></th></tr></thead>
              <tbody>
            \(rows)    </tbody>
            </table>
            """
        return """
            <form\(p.id("grants-search-form")) method="get" action="/console/grants">
              <label>Tenant id <input type="text" name="tenant_id"\(p.id("grants-tenant-id")) value="\((tenantID ?? "").html)"></label>
              <label>External reference <input type="text" name="external_reference"\(p.id("grants-external-reference")) value="\((reference ?? "").html)"></label>
              <div class="actions"><button type="submit"\(p.id("grants-search"))>Search</button></div>
            </form>
            \(table)
            """
    }

    static func revoke(_ p: ConsolePage, grant: SimulatorGrant, error: String?) -> String {
        """
        \(p.formError(error))
        <dl\(p.id("revoke-details")) class="values">
          <dt>Confirmation id</dt><dd\(p.id("revoke-confirmation-id"))>\(grant.confirmationID.html)</dd>
          <dt>Tenant id</dt><dd\(p.id("revoke-tenant-id"))>\(grant.tenantID.html)</dd>
          <dt>External reference</dt><dd\(p.id("revoke-external-reference"))>\(grant.externalReference.html)</dd>
          <dt>Status</dt><dd\(p.id("revoke-grant-status"))>\(grant.status.html)</dd>
          <dt>Expires at</dt><dd\(p.id("revoke-expires-at"))>\(grant.expiresAt.html)</dd>
        </dl>
        <form\(p.id("revoke-form")) method="post" action="/console/grants/\(grant.confirmationID.urlComponent)/revoke">
          \(p.csrfField)
          <label>Reason <textarea name="reason"\(p.id("revoke-reason")) rows="3"></textarea></label>
          <label><input type="checkbox" name="confirm" value="yes"\(p.id("revoke-confirm"))> I confirm this break-glass access must end now.</label>
          <div class="actions"><button type="submit" name="action" value="revoke"\(p.id("revoke-submit")) class="primary">Revoke access</button></div>
        </form>
        """
    }

    static let revokeScript = """
        (function () {
          var box = document.querySelector('input[name=confirm]');
          var submit = document.querySelector('button[value=revoke]');
          if (!box || !submit) { return; }
          function update() { submit.disabled = !box.checked; }
          box.addEventListener('change', update);
          update();
        })();
        """

    static func revokeResult(_ p: ConsolePage, grant: SimulatorGrant) -> String {
        """
        <div class="banner banner-info"\(p.id("revoke-banner"))>Break-glass access revoked.</div>
        <dl class="values">
          <dt>Confirmation id</dt><dd\(p.id("revoke-confirmation-id"))>\(grant.confirmationID.html)</dd>
          <dt>Status</dt><dd\(p.id("revoke-status"))>\(grant.status.html)</dd>
          <dt>Revoked at</dt><dd\(p.id("revoked-at"))>\((grant.revokedAt ?? "").html)</dd>
        </dl>
        """
    }

    static func error(_ p: ConsolePage, code: String, message: String) -> String {
        """
        <div class="banner banner-warning" role="alert">
          <p\(p.id("error-message"))>\(message.html)</p>
          <p>Error code: <code\(p.id("error-code"))>\(code.html)</code></p>
        </div>
        <a\(p.id("error-home")) href="/console/tenant">Back to the console</a>
        """
    }
}
