import Foundation
import Hummingbird

/// The test-control API (`/control`, its own bearer token): seed fixtures, mutate approvals, switch fault modes,
/// reset, and read grant counts.
extension Simulator {
    struct FaultsBody: Codable {
        var global: FaultModes
        var tenants: [String: FaultModes]
    }

    struct ApprovalMutation: Decodable {
        let action: SimulatorState.ApprovalAction
        let approvedAt: String?
        let expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case action, approvedAt = "approved_at", expiresAt = "expires_at"
        }
    }

    struct GrantsBody: Encodable {
        let counts: [SimulatorState.GrantCount]
        /// Final submits received per (tenant, reference), refused duplicates included.
        let submits: [SimulatorState.GrantCount]
        let grants: [SimulatorGrant]
        let total: Int
    }

    struct OK: Encodable {
        let status = "ok"
    }

    enum BodyError: Error {
        case tooLarge
        case invalid(String)
    }

    /// Reads and decodes a JSON body; a too-large or undecodable body becomes a 413/400 answer.
    static func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async -> Result<T, BodyError> {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            return .failure(.tooLarge)
        }
        do {
            return .success(try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView)))
        } catch let error as DecodingError {
            return .failure(.invalid(SimulatorFixtures.describe(error)))
        } catch {
            return .failure(.invalid("not valid JSON"))
        }
    }

    static func answer(_ error: BodyError) -> Response {
        switch error {
        case .tooLarge: SimulatorResponse.error(.contentTooLarge, "too_large", "request body too large")
        case .invalid(let detail): SimulatorResponse.badRequest("invalid body: \(detail)")
        }
    }

    func addControlRoutes(to router: Router<BasicRequestContext>) {
        let state = self.state
        let limit = configuration.maximumBodyBytes
        let logger = self.logger
        let control = router.group("control")
            .add(
                middleware: BearerTokenMiddleware<BasicRequestContext>(
                    token: configuration.controlToken, realm: "control"))

        control.get("fixtures") { _, _ -> Response in
            SimulatorResponse.json(await state.fixtures)
        }
        control.put("fixtures") { request, _ -> Response in
            switch await Self.decodeBody(SimulatorFixtures.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let fixtures):
                do {
                    let resolved = try fixtures.resolved(at: await state.now)
                    await state.replaceFixtures(resolved)
                    logger.info(
                        "fixtures replaced",
                        metadata: [
                            "breakglass.tenants": .stringConvertible(resolved.tenants.count),
                            "breakglass.cases": "\(resolved.cases.count)",
                        ])
                    return SimulatorResponse.json(OK())
                } catch let error as SimulatorError {
                    return SimulatorResponse.badRequest("\(error.description): \(error.detail)")
                }
            }
        }
        control.post("fixtures/merge") { request, _ -> Response in
            switch await Self.decodeBody(SimulatorFixtures.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let addition):
                do {
                    let merged = try await state.fixtures.merging(addition).resolved(at: await state.now)
                    await state.replaceFixtures(merged)
                    logger.info(
                        "fixtures merged",
                        metadata: [
                            "breakglass.tenants": .stringConvertible(addition.tenants.count),
                            "breakglass.cases": "\(addition.cases.count)",
                        ])
                    return SimulatorResponse.json(OK())
                } catch let error as SimulatorError {
                    return SimulatorResponse.badRequest("\(error.description): \(error.detail)")
                }
            }
        }
        control.post("reset") { _, _ -> Response in
            await state.reset()
            logger.info("simulator reset")
            return SimulatorResponse.json(OK())
        }
        control.post("release-hangs") { _, _ -> Response in
            await state.releaseHangingRequests()
            return SimulatorResponse.json(OK())
        }
        control.post("cases/:case_id/approvals/:approval_id") { request, context -> Response in
            let caseID = try context.parameters.require("case_id")
            let approvalID = try context.parameters.require("approval_id")
            switch await Self.decodeBody(ApprovalMutation.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let mutation):
                let now = await state.now
                var times: [String?] = []
                for value in [mutation.approvedAt, mutation.expiresAt] {
                    guard let value else {
                        times.append(nil)
                        continue
                    }
                    guard let resolved = SimulatorTime.resolve(value, now: now) else {
                        return SimulatorResponse.badRequest("approved_at/expires_at must be RFC 3339 or now±N[smhd]")
                    }
                    times.append(resolved)
                }
                guard
                    let updated = await state.mutateApproval(
                        caseID: caseID, approvalID: approvalID,
                        action: mutation.action,
                        approvedAt: times[0], expiresAt: times[1])
                else { return SimulatorResponse.notFound("case or approval") }
                logger.info(
                    "approval changed",
                    metadata: [
                        "breakglass.case_id": "\(caseID)",
                        "breakglass.approval_id": "\(approvalID)",
                        "breakglass.action": "\(mutation.action.rawValue)",
                    ])
                return SimulatorResponse.json(updated)
            }
        }
        control.get("offsite") { _, _ -> Response in
            SimulatorResponse.json(await state.offsite)
        }
        control.get("faults") { _, _ -> Response in
            SimulatorResponse.json(FaultsBody(global: await state.globalFaults, tenants: await state.tenantFaults))
        }
        control.put("faults") { request, _ -> Response in
            switch await Self.decodeBody(FaultsBody.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let body):
                do {
                    try body.global.validate()
                    for faults in body.tenants.values { try faults.validate() }
                } catch let error as SimulatorError {
                    return SimulatorResponse.badRequest(error.detail)
                }
                await state.clearFaults()
                await state.setGlobalFaults(body.global)
                for (tenantID, faults) in body.tenants { await state.setTenantFaults(faults, tenantID: tenantID) }
                return SimulatorResponse.json(OK())
            }
        }
        control.delete("faults") { _, _ -> Response in
            await state.clearFaults()
            return SimulatorResponse.json(OK())
        }
        control.put("faults/global") { request, _ -> Response in
            switch await Self.decodeBody(FaultModes.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let faults):
                do { try faults.validate() } catch let error as SimulatorError {
                    return SimulatorResponse.badRequest(error.detail)
                }
                await state.setGlobalFaults(faults)
                return SimulatorResponse.json(OK())
            }
        }
        control.put("faults/tenants/:tenant_id") { request, context -> Response in
            let tenantID = try context.parameters.require("tenant_id")
            switch await Self.decodeBody(FaultModes.self, request, limit: limit) {
            case .failure(let error): return Self.answer(error)
            case .success(let faults):
                do { try faults.validate() } catch let error as SimulatorError {
                    return SimulatorResponse.badRequest(error.detail)
                }
                await state.setTenantFaults(faults, tenantID: tenantID)
                return SimulatorResponse.json(OK())
            }
        }
        control.delete("faults/tenants/:tenant_id") { _, context -> Response in
            let tenantID = try context.parameters.require("tenant_id")
            await state.setTenantFaults(nil, tenantID: tenantID)
            return SimulatorResponse.json(OK())
        }
        // The authenticated console session cookies issued so far: secrets a leak scan must never find in
        // evidence, logs or events (control token only, like everything here).
        control.get("sessions/issued") { _, _ -> Response in
            SimulatorResponse.json(["session_ids": await state.issuedSessionIDs])
        }
        // Ends every console session at once, as a console restart or an idle timeout would: the next page any
        // browser asks for is the login page.
        control.post("sessions/expire") { _, _ -> Response in
            await state.endAllSessions()
            return SimulatorResponse.json(OK())
        }
        control.get("grants") { request, _ -> Response in
            let tenantID = request.uri.queryParameters.get("tenant_id")
            let reference = request.uri.queryParameters.get("external_reference")
            let grants = await state.grants(tenantID: tenantID, externalReference: reference)
            let counts = await state.grantCounts().filter {
                (tenantID == nil || $0.tenantID == tenantID) && (reference == nil || $0.externalReference == reference)
            }
            let submits = await state.submitCounts().filter {
                (tenantID == nil || $0.tenantID == tenantID) && (reference == nil || $0.externalReference == reference)
            }
            return SimulatorResponse.json(
                GrantsBody(counts: counts, submits: submits, grants: grants, total: grants.count))
        }
    }
}
