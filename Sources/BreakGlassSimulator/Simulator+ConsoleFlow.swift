import Foundation
import Hummingbird

/// The grant flow's screens before submit: tenant → tenant-verify → incident → incident-verify → scope →
/// expiration → approvals → acknowledgement. Each GET shows the screen (pre-filled with the flow's values), each
/// POST applies it (`action=next`) or saves a draft (`action=save-draft`).
extension Simulator {
    static let inputScreens: [ConsoleScreen] = [
        .tenant, .tenantVerify, .incident, .incidentVerify, .scope, .expiration, .approvals,
    ]

    func addFlowRoutes(to console: RouterGroup<BasicRequestContext>) {
        for screen in Self.inputScreens + [.acknowledgement] {
            let path = String(screen.path.dropFirst("/console/".count))
            console.get(RouterPath(path)) { request, _ -> Response in
                switch await self.gate(request, screen: screen) {
                case .respond(let response): return response
                case .proceed(var call):
                    if screen == .tenant, request.uri.queryParameters.get("new") == "1" {
                        call.session.flow = ConsoleFlow()
                        await self.state.update(call.session)
                    }
                    if !call.session.flow.allows(screen, in: call.layout.flow),
                        let missing = call.session.flow.firstIncompleteScreen(in: call.layout.flow)
                    {
                        return SimulatorResponse.redirect(missing.path)
                    }
                    return await self.render(screen, call: call, error: nil)
                }
            }
            guard screen != .acknowledgement else { continue }
            console.post(RouterPath(path)) { request, _ -> Response in
                guard let form = await Self.readForm(request) else {
                    return SimulatorResponse.badRequest("unreadable form")
                }
                switch await self.gate(request, screen: screen, form: form, applyScreenFaults: false) {
                case .respond(let response): return response
                case .proceed(var call):
                    if !call.session.flow.allows(screen, in: call.layout.flow),
                        let missing = call.session.flow.firstIncompleteScreen(in: call.layout.flow)
                    {
                        return SimulatorResponse.redirect(missing.path)
                    }
                    let draft = form.value("action") == "save-draft"
                    var flow = call.session.flow
                    let problem = await self.apply(screen, form: form, to: &flow, faults: call.faults, lenient: draft)
                    if let problem, !draft {
                        return await self.render(screen, call: call, error: problem, status: .unprocessableContent)
                    }
                    call.session.flow = flow
                    await self.state.update(call.session)
                    if draft { return await self.saveDraft(screen: screen, flow: flow) }
                    return SimulatorResponse.redirect(
                        flow.firstIncompleteScreen(in: call.layout.flow)?.path ?? ConsoleScreen.acknowledgement.path)
                }
            }
        }
        console.get("draft-saved") { request, _ -> Response in
            switch await self.gate(request, screen: .draftSaved) {
            case .respond(let response): return response
            case .proceed(let call):
                let id = request.uri.queryParameters.get("draft_id") ?? ""
                guard let draft = await self.state.draft(id) else {
                    return Self.errorPage(call, status: .notFound, code: "draft-not-found", message: "No such draft.")
                }
                let page = call.page(.draftSaved)
                return SimulatorResponse.html(
                    page.render(ConsoleViews.draftSaved(page, id: draft.id, screen: draft.screen)))
            }
        }
        console.get("drafts/:draft_id") { request, context -> Response in
            switch await self.gate(request, screen: nil) {
            case .respond(let response): return response
            case .proceed(var call):
                let id = context.parameters.get("draft_id") ?? ""
                guard let draft = await self.state.draft(id) else {
                    return Self.errorPage(call, status: .notFound, code: "draft-not-found", message: "No such draft.")
                }
                call.session.flow = draft.flow
                await self.state.update(call.session)
                let order = call.layout.flow
                let target =
                    draft.flow.allows(draft.screen, in: order)
                    ? draft.screen : (draft.flow.firstIncompleteScreen(in: order) ?? .acknowledgement)
                return SimulatorResponse.redirect(target.path)
            }
        }
    }

    func saveDraft(screen: ConsoleScreen, flow: ConsoleFlow) async -> Response {
        let id = await state.saveDraft(screen: screen, flow: flow)
        logger.info(
            "console draft saved",
            metadata: ["breakglass.draft_id": "\(id)", "breakglass.screen": "\(screen.rawValue)"])
        return SimulatorResponse.redirect("/console/draft-saved?draft_id=\(id.urlComponent)")
    }

    /// The scopes shown on the scope screen: the offered ones, plus the broad one when the fault adds it.
    func scopeOptions(faults: FaultModes) async -> [SimulatorFixtures.OfferedScope] {
        let settings = await state.fixtures.console
        var options = settings.offeredScopes
        let broad = faults.broaderScopePrechecked == true || faults.broaderScopePreselected == true
        if broad, !options.contains(where: { $0.scope == settings.broadScope }) {
            options.append(.init(scope: settings.broadScope, label: "Full tenant administration"))
        }
        if faults.broaderScopePreselected == true {
            // Pre-ticked and NOT locked: a worker that unticks it would pass an after-fill check (issue 19.1).
            options = options.map { option in
                var option = option
                if option.scope == settings.broadScope { option.prechecked = true }
                return option
            }
        }
        return options
    }

    /// Applies a screen's form to the flow; returns what is wrong (shown on the page), or `nil`.
    /// `lenient` (save draft) keeps whatever was typed without checking it.
    func apply(
        _ screen: ConsoleScreen, form: ConsoleForm, to flow: inout ConsoleFlow, faults: FaultModes, lenient: Bool
    ) async -> String? {
        switch screen {
        case .tenant:
            let tenantID = form.value("tenant_id") ?? ""
            let reference = form.value("external_reference") ?? ""
            if lenient {
                if !tenantID.isEmpty { flow.tenantID = tenantID }
                if !reference.isEmpty { flow.externalReference = reference }
                return nil
            }
            guard !tenantID.isEmpty else { return "Enter a tenant id." }
            guard !reference.isEmpty else { return "Enter the external reference." }
            guard reference.count <= 256 else { return "The external reference is too long (256 characters at most)." }
            guard await state.tenant(tenantID) != nil else { return "Tenant not found: \(tenantID)" }
            if tenantID != flow.tenantID || reference != flow.externalReference {
                // Another tenant starts another request: what later screens entered is dropped; what screens before
                // the tenant entered in this console's order (the incident, in the alternate console) is kept.
                let kept = flow
                flow = ConsoleFlow()
                let order = await state.fixtures.console.layout.flow
                if let incident = order.firstIndex(of: .incident), let tenant = order.firstIndex(of: .tenant),
                    incident < tenant
                {
                    flow.incidentID = kept.incidentID
                    flow.incidentConfirmed = kept.incidentConfirmed
                }
            }
            flow.tenantID = tenantID
            flow.externalReference = reference
            flow.tenantConfirmed = false
            // Under `wrong_tenant_after_lookup` the console resolves the lookup to another tenant.
            let tenantFaults = await state.faults(for: tenantID)
            if tenantFaults.wrongTenantAfterLookup == true {
                let others = await state.fixtures.tenants.filter { $0.tenantID != tenantID }
                flow.resolvedTenantID = others.first?.tenantID ?? "tnt-000000"
            } else {
                flow.resolvedTenantID = tenantID
            }
            return nil
        case .tenantVerify:
            if !lenient { flow.tenantConfirmed = true }
            return nil
        case .incident:
            let incidentID = form.value("incident_id") ?? ""
            if lenient {
                if !incidentID.isEmpty { flow.incidentID = incidentID }
                return nil
            }
            guard !incidentID.isEmpty else { return "Enter an incident id." }
            guard await state.incident(incidentID) != nil else { return "Incident not found: \(incidentID)" }
            if incidentID != flow.incidentID { flow.incidentConfirmed = false }
            flow.incidentID = incidentID
            return nil
        case .incidentVerify:
            if !lenient { flow.incidentConfirmed = true }
            return nil
        case .scope:
            let options = await scopeOptions(faults: faults)
            var chosen = form.values("scope")
            let broad = await state.fixtures.console.broadScope
            if faults.broaderScopePrechecked == true, !chosen.contains(broad) {
                // The console insists on its broad scope, whatever the browser sent.
                chosen.append(broad)
            }
            if lenient {
                flow.scopes = chosen.filter { scope in options.contains { $0.scope == scope } }
                return nil
            }
            guard !chosen.isEmpty else { return "Select at least one scope." }
            for scope in chosen where !options.contains(where: { $0.scope == scope }) {
                return "Unknown scope: \(scope)"
            }
            flow.scopes = options.map(\.scope).filter { chosen.contains($0) }
            return nil
        case .expiration:
            let maximum = await state.fixtures.console.maxDurationMinutes
            if faults.expirationControlMissing == true {
                flow.durationMinutes = maximum
                if !lenient { flow.expirationDone = true }
                return nil
            }
            let text = form.value("duration_minutes") ?? ""
            if lenient {
                if let minutes = Int(text) { flow.durationMinutes = minutes }
                return nil
            }
            guard let minutes = Int(text) else { return "Enter the duration in whole minutes." }
            guard (1...maximum).contains(minutes) else {
                return "The duration must be between 1 and \(maximum) minutes."
            }
            flow.durationMinutes = minutes
            flow.expirationDone = true
            return nil
        case .approvals:
            let references = (form.value("approval_references") ?? "")
                .split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" })
                .map(String.init)
            let packetID = form.value("packet_id") ?? ""
            let hash = (form.value("packet_sha256") ?? "").lowercased()
            if lenient {
                if !references.isEmpty { flow.approvalReferences = references }
                if !packetID.isEmpty { flow.packetID = packetID }
                if !hash.isEmpty { flow.packetSHA256 = hash }
                return nil
            }
            guard !references.isEmpty else { return "Enter the approval references." }
            guard !packetID.isEmpty else { return "Enter the approval packet id." }
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                return "The packet hash must be 64 hexadecimal characters (SHA-256)."
            }
            flow.approvalReferences = references
            flow.packetID = packetID
            flow.packetSHA256 = hash
            return nil
        default:
            return nil
        }
    }

    /// Renders a flow screen with the flow's values.
    func render(
        _ screen: ConsoleScreen, call: ConsoleCall, error: String?, status: HTTPResponse.Status = .ok
    ) async -> Response {
        let page = call.page(screen)
        let flow = call.session.flow
        let body: String
        var script: String?
        switch screen {
        case .tenant:
            body = ConsoleViews.tenant(page, flow: flow, error: error)
        case .tenantVerify:
            let shownID = flow.resolvedTenantID ?? flow.tenantID ?? ""
            let tenant =
                await state.tenant(shownID)
                ?? SimulatorFixtures.Tenant(
                    tenantID: shownID, name: "Unknown tenant", region: "unknown", status: "active")
            var existing = await state.adminState(tenantID: shownID)?.sessions ?? []
            if existing.isEmpty, call.faults.existingSessionBanner == true {
                existing = [
                    .init(grantRef: "BG-LEGACY01", expiresAt: SimulatorTime.format(Date().addingTimeInterval(3600)))
                ]
            }
            body = ConsoleViews.tenantVerify(
                page, tenant: tenant, flow: flow, sessions: existing, error: error,
                shadowTenantID: call.faults.shadowTenantRow == true ? "tnt-other" : nil)
        case .incident:
            body = ConsoleViews.incident(page, flow: flow, error: error)
        case .incidentVerify:
            let incident =
                await state.incident(flow.incidentID ?? "")
                ?? SimulatorFixtures.Incident(
                    incidentID: flow.incidentID ?? "", title: "Unknown incident", status: "unknown", tenantIDs: [])
            body = ConsoleViews.incidentVerify(page, incident: incident, flow: flow, error: error)
        case .scope:
            let options = await scopeOptions(faults: call.faults)
            let locked = call.faults.broaderScopePrechecked == true ? await state.fixtures.console.broadScope : nil
            body = ConsoleViews.scope(page, options: options, chosen: flow.scopes, locked: locked, error: error)
        case .expiration:
            let maximum = await state.fixtures.console.maxDurationMinutes
            body = ConsoleViews.expiration(
                page, flow: flow, maximum: maximum,
                controlMissing: call.faults.expirationControlMissing == true, error: error)
            script = ConsoleViews.expirationScript
        case .approvals:
            body = ConsoleViews.approvals(page, flow: flow, error: error)
        case .acknowledgement:
            let tenant = await state.tenant(flow.effectiveTenantID ?? "")
            let incident = await state.incident(flow.incidentID ?? "")
            body = ConsoleViews.acknowledgement(
                page, flow: flow, tenantName: tenant?.name ?? "", incidentTitle: incident?.title ?? "", error: error)
            script = ConsoleViews.acknowledgementScript
        default:
            body = ""
        }
        if call.faults.dialogAtScreen == screen.rawValue {
            script =
                (script ?? "") + ";alert('Your session is being moved to tenant tnt-other; contact ceo@acme.example');"
        }
        return SimulatorResponse.html(page.render(body, script: script), status: status)
    }
}
