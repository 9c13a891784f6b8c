import Foundation
import Hummingbird

/// The contract's §4 live sources, bearer-token protected.
extension Simulator {
    struct TenantBody: Encodable {
        let tenant_id: String
        let name: String
        let status: String
        let region: String
    }

    struct AdminStateBody: Encodable {
        let tenant_id: String
        let active_breakglass_sessions: [SimulatorFixtures.Session]
        let policy: SimulatorFixtures.Policy
        let directory_roles: [String: [String]]
    }

    func addLiveSourceRoutes(to router: Router<BasicRequestContext>) {
        let state = self.state
        let api = router.group("v1")
            .add(
                middleware: BearerTokenMiddleware<BasicRequestContext>(
                    token: configuration.apiToken, realm: "live-sources"))
        api.get("cases/:case_id") { _, context -> Response in
            let id = try context.parameters.require("case_id")
            guard let found = await state.escalationCase(id) else { return SimulatorResponse.notFound("case") }
            return SimulatorResponse.json(found)
        }
        api.get("tenants/:tenant_id") { _, context -> Response in
            let id = try context.parameters.require("tenant_id")
            guard let t = await state.tenant(id) else { return SimulatorResponse.notFound("tenant") }
            // contact_email is personal data: the console shows it, the API does not.
            let body = TenantBody(tenant_id: t.tenantID, name: t.name, status: t.status, region: t.region)
            return Self.drip(body, every: await state.faults(for: id).sourceDripMs)
        }
        api.get("incidents/:incident_id") { _, context -> Response in
            let id = try context.parameters.require("incident_id")
            guard let found = await state.incident(id) else { return SimulatorResponse.notFound("incident") }
            return SimulatorResponse.json(found)
        }
        api.get("identity/:admin_id/assurance/:ref") { _, context -> Response in
            let adminID = try context.parameters.require("admin_id")
            let ref = try context.parameters.require("ref")
            guard let found = await state.identity(adminID: adminID, ref: ref) else {
                return SimulatorResponse.notFound("identity assurance")
            }
            return SimulatorResponse.json(found)
        }
        api.get("iam/tenants/:tenant_id/admin-state") { _, context -> Response in
            let id = try context.parameters.require("tenant_id")
            guard let found = await state.adminState(tenantID: id) else { return SimulatorResponse.notFound("tenant") }
            let body = AdminStateBody(
                tenant_id: id, active_breakglass_sessions: found.sessions, policy: found.state.policy,
                directory_roles: found.state.directoryRoles)
            return Self.drip(body, every: await state.faults(for: id).sourceDripMs)
        }
    }

    /// `value` as JSON, or (fault `source_drip_ms`) with the headers at once and the body one byte every
    /// `milliseconds` (a source that holds a reader without ever timing out at the connection level).
    static func drip(_ value: some Encodable, every milliseconds: Int?) -> Response {
        var response = SimulatorResponse.json(value)
        guard let milliseconds else { return response }
        let bytes = Array((try? SimulatorResponse.encoder.encode(value)) ?? Data("{}".utf8))
        response.body = ResponseBody(contentLength: bytes.count) { writer in
            for byte in bytes {
                try await Task.sleep(for: .milliseconds(milliseconds))
                try await writer.write(ByteBuffer(bytes: [byte]))
            }
            try await writer.finish(nil)
        }
        return response
    }
}
