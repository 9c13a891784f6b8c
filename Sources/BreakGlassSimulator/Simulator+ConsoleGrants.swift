import Foundation
import Hummingbird
import ServiceLifecycle

/// Submit, confirmation, the active-grants listing and the revoke screen.
extension Simulator {
    func addSubmitRoutes(to console: RouterGroup<BasicRequestContext>) {
        console.post("submit") { request, _ -> Response in
            guard let form = await Self.readForm(request) else {
                return SimulatorResponse.badRequest("unreadable form")
            }
            let isDraft = form.value("action") == "save-draft"
            switch await self.gate(
                request, screen: isDraft ? .acknowledgement : .submit, form: form, applyScreenFaults: !isDraft)
            {
            case .respond(let response): return response
            case .proceed(var call):
                var flow = call.session.flow
                if let missing = flow.firstIncompleteScreen(in: call.layout.flow), missing != .acknowledgement {
                    return SimulatorResponse.redirect(missing.path)
                }
                if isDraft { return await self.saveDraft(screen: .acknowledgement, flow: flow) }
                guard form.value("acknowledge") == "yes" else {
                    return await self.render(
                        .acknowledgement, call: call,
                        error: "Tick the acknowledgement to submit.", status: .unprocessableContent)
                }
                flow.acknowledged = true
                let maximum = await self.state.fixtures.console.maxDurationMinutes
                let faults = call.faults
                let outcome = await self.state.makeGrant(
                    flow: flow, durationMinutes: flow.durationMinutes ?? maximum,
                    inIAM: faults.grantAbsentFromIAM != true)
                flow.acknowledged = false
                call.session.flow = flow
                switch outcome {
                case .none:
                    await self.state.update(call.session)
                    return SimulatorResponse.redirect(ConsoleScreen.tenant.path)
                case .alreadyExists(let existing)?:
                    await self.state.update(call.session)
                    self.logger.info(
                        "console submit refused: grant already exists",
                        metadata: ["breakglass.confirmation_id": "\(existing.confirmationID)"])
                    let page = call.page(.grantExists)
                    return SimulatorResponse.html(
                        page.render(ConsoleViews.grantExists(page, grant: existing)), status: .conflict)
                case .granted(let grant)?:
                    call.session.lastGrantID = grant.confirmationID
                    call.session.lastSubmitAmbiguous = faults.ambiguousConfirmation == true
                    await self.state.update(call.session)
                    self.logger.info(
                        "console grant made",
                        metadata: [
                            "breakglass.confirmation_id": "\(grant.confirmationID)",
                            "breakglass.tenant_id": "\(grant.tenantID)",
                        ])
                    if faults.confirmationHang == true {
                        await self.hang(milliseconds: faults.confirmationHangMs ?? 600_000)
                        return Self.errorPage(
                            call, status: .gatewayTimeout, code: "timeout",
                            message: "The console did not answer in time.")
                    }
                    return SimulatorResponse.redirect(ConsoleScreen.confirmation.path)
                }
            }
        }
        console.get("confirmation") { request, _ -> Response in
            switch await self.gate(request, screen: .confirmation) {
            case .respond(let response): return response
            case .proceed(let call):
                guard let id = call.session.lastGrantID, let grant = await self.state.grant(confirmationID: id) else {
                    return SimulatorResponse.redirect(ConsoleScreen.tenant.path)
                }
                let page = call.page(.confirmation)
                let body =
                    call.session.lastSubmitAmbiguous
                    ? ConsoleViews.pendingConfirmation(page)
                    : ConsoleViews.confirmation(page, grant: grant)
                return SimulatorResponse.html(page.render(body))
            }
        }
    }

    /// Holds a request until `milliseconds` pass, the state releases hanging requests (reset, `withRunning` ending)
    /// or the server shuts down.
    func hang(milliseconds: Int) async {
        let generation = await state.hangGeneration
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(milliseconds))
        while clock.now < deadline, await state.hangGeneration == generation, !Task.isCancelled,
            !Task.isShuttingDownGracefully
        {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func addGrantRoutes(to console: RouterGroup<BasicRequestContext>) {
        console.get("grants") { request, _ -> Response in
            switch await self.gate(request, screen: .grants) {
            case .respond(let response): return response
            case .proceed(let call):
                let tenantID = request.uri.queryParameters.get("tenant_id").flatMap { $0.isEmpty ? nil : String($0) }
                let reference = request.uri.queryParameters.get("external_reference").flatMap {
                    $0.isEmpty ? nil : String($0)
                }
                let grants = await self.state.grants(tenantID: tenantID, externalReference: reference)
                let page = call.page(.grants)
                return SimulatorResponse.html(
                    page.render(ConsoleViews.grants(page, grants: grants, tenantID: tenantID, reference: reference)))
            }
        }
        console.get("grants/:confirmation_id/revoke") { request, context -> Response in
            let id = context.parameters.get("confirmation_id") ?? ""
            let grant = await self.state.grant(confirmationID: id)
            switch await self.revokeGate(request, grant: grant, form: nil) {
            case .respond(let response): return response
            case .proceed(let call):
                guard let grant else {
                    return Self.errorPage(call, status: .notFound, code: "grant-not-found", message: "No such grant.")
                }
                let page = call.page(.revoke)
                return SimulatorResponse.html(
                    page.render(ConsoleViews.revoke(page, grant: grant, error: nil), script: ConsoleViews.revokeScript))
            }
        }
        console.post("grants/:confirmation_id/revoke") { request, context -> Response in
            guard let form = await Self.readForm(request) else {
                return SimulatorResponse.badRequest("unreadable form")
            }
            let id = context.parameters.get("confirmation_id") ?? ""
            let grant = await self.state.grant(confirmationID: id)
            switch await self.revokeGate(request, grant: grant, form: form) {
            case .respond(let response): return response
            case .proceed(let call):
                guard let grant else {
                    return Self.errorPage(call, status: .notFound, code: "grant-not-found", message: "No such grant.")
                }
                let reason = form.value("reason") ?? ""
                guard !reason.isEmpty, form.value("confirm") == "yes" else {
                    let page = call.page(.revoke)
                    return SimulatorResponse.html(
                        page.render(
                            ConsoleViews.revoke(page, grant: grant, error: "Give a reason and tick the confirmation."),
                            script: ConsoleViews.revokeScript),
                        status: .unprocessableContent)
                }
                if call.faults.revokeFailure == .error {
                    self.logger.info(
                        "console revoke failed (fault)",
                        metadata: ["breakglass.confirmation_id": "\(grant.confirmationID)"])
                    return Self.errorPage(
                        call, status: .internalServerError, code: "revoke-failed",
                        message: "The revocation could not be completed. The grant is unchanged.")
                }
                let revoked = await self.state.revoke(
                    confirmationID: grant.confirmationID, reason: reason,
                    removeFromIAM: call.faults.revokeFailure != .silent)
                self.logger.info(
                    "console grant revoked", metadata: ["breakglass.confirmation_id": "\(grant.confirmationID)"])
                let page = call.page(.revokeResult)
                return SimulatorResponse.html(page.render(ConsoleViews.revokeResult(page, grant: revoked ?? grant)))
            }
        }
    }

    /// The console gate, with the fault modes of the grant's tenant.
    func revokeGate(_ request: Request, grant: SimulatorGrant?, form: ConsoleForm?) async -> Gate {
        switch await gate(request, screen: nil, form: form, applyScreenFaults: false) {
        case .respond(let response): return .respond(response)
        case .proceed(let call):
            let faults = await state.faults(for: grant?.tenantID)
            let scoped = ConsoleCall(session: call.session, faults: faults)
            if form == nil {
                if faults.sessionExpiresAtScreen == ConsoleScreen.revoke.rawValue {
                    await state.endSession(call.session.id)
                    return .respond(Self.toLogin(expired: true))
                }
                if faults.errorAtScreen == ConsoleScreen.revoke.rawValue {
                    return .respond(
                        Self.errorPage(
                            scoped, status: .internalServerError, code: "internal",
                            message: "The console could not complete the request. Try again later."))
                }
            }
            return .proceed(scoped)
        }
    }
}
