public import Foundation
import Yams

extension SimulatorFixtures {
    /// Reads a fixtures file: JSON when it ends in `.json`, YAML otherwise. Relative times are resolved against
    /// `now` and the result is validated.
    public static func load(contentsOf url: URL, now: Date = Date()) throws -> SimulatorFixtures {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SimulatorError.fixturesUnreadable("cannot read \(url.path)")
        }
        let fixtures = url.pathExtension.lowercased() == "json" ? try decode(json: data) : try decode(yaml: data)
        return try fixtures.resolved(at: now)
    }

    /// Decodes YAML (not yet resolved nor validated).
    public static func decode(yaml data: Data) throws -> SimulatorFixtures {
        do {
            return try YAMLDecoder().decode(SimulatorFixtures.self, from: data)
        } catch let error as DecodingError {
            throw SimulatorError.fixturesMalformed(Self.describe(error))
        } catch {
            throw SimulatorError.fixturesMalformed("not valid YAML")
        }
    }

    /// Decodes JSON (not yet resolved nor validated).
    public static func decode(json data: Data) throws -> SimulatorFixtures {
        do {
            return try JSONDecoder().decode(SimulatorFixtures.self, from: data)
        } catch let error as DecodingError {
            throw SimulatorError.fixturesMalformed(Self.describe(error))
        } catch {
            throw SimulatorError.fixturesMalformed("not valid JSON")
        }
    }

    /// Relative times (`now+2h`) made absolute, every time normalised to RFC 3339 UTC, then validated.
    public func resolved(at now: Date) throws -> SimulatorFixtures {
        var copy = self
        func resolve(_ value: String?, _ path: String) throws -> String? {
            guard let value else { return nil }
            guard let resolved = SimulatorTime.resolve(value, now: now) else {
                throw SimulatorError.fixturesInvalid("\(path): not an RFC 3339 time nor now±N[smhd]")
            }
            return resolved
        }
        for c in copy.cases.indices {
            for a in copy.cases[c].approvals.indices {
                let path = "cases[\(c)].approvals[\(a)]"
                copy.cases[c].approvals[a].approvedAt = try resolve(
                    copy.cases[c].approvals[a].approvedAt, path + ".approved_at")
                copy.cases[c].approvals[a].expiresAt = try resolve(
                    copy.cases[c].approvals[a].expiresAt, path + ".expires_at")
            }
        }
        for i in copy.identities.indices {
            copy.identities[i].verifiedAt = try resolve(copy.identities[i].verifiedAt, "identities[\(i)].verified_at")
        }
        for tenantID in copy.iam.keys.sorted() {
            guard var state = copy.iam[tenantID] else { continue }
            for s in state.sessions.indices {
                state.sessions[s].expiresAt = try resolve(
                    state.sessions[s].expiresAt, "iam.\(tenantID).sessions[\(s)].expires_at")!
            }
            copy.iam[tenantID] = state
        }
        try copy.validate()
        return copy
    }

    /// `other`'s tenants, incidents, cases, identities (matched by id) and IAM states (by tenant) replace or add to
    /// these; the console settings stay.
    public func merging(_ other: SimulatorFixtures) -> SimulatorFixtures {
        func upsert<T>(_ base: [T], _ new: [T], _ key: (T) -> String) -> [T] {
            var result = base
            for item in new {
                if let index = result.firstIndex(where: { key($0) == key(item) }) {
                    result[index] = item
                } else {
                    result.append(item)
                }
            }
            return result
        }
        var copy = self
        copy.tenants = upsert(tenants, other.tenants, \.tenantID)
        copy.incidents = upsert(incidents, other.incidents, \.incidentID)
        copy.cases = upsert(cases, other.cases, \.caseID)
        copy.identities = upsert(identities, other.identities) { "\($0.adminID)/\($0.ref)" }
        copy.iam.merge(other.iam) { _, new in new }
        return copy
    }

    /// Checks what decoding cannot: unique ids, allowed status words, known references, sane console settings.
    public func validate() throws {
        func unique(_ ids: [String], _ what: String) throws {
            var seen = Set<String>()
            for id in ids where !seen.insert(id).inserted {
                throw SimulatorError.fixturesInvalid("duplicate \(what) \(id)")
            }
        }
        func allowed(_ value: String, _ words: Set<String>, _ path: String) throws {
            guard words.contains(value) else {
                throw SimulatorError.fixturesInvalid(
                    "\(path): \(value) is not one of \(words.sorted().joined(separator: ", "))")
            }
        }
        try unique(tenants.map(\.tenantID), "tenant_id")
        try unique(incidents.map(\.incidentID), "incident_id")
        try unique(cases.map(\.caseID), "case_id")
        try unique(identities.map { "\($0.adminID)/\($0.ref)" }, "identity admin_id/ref")
        for (i, tenant) in tenants.enumerated() {
            try allowed(tenant.status, ["active", "suspended", "offboarded"], "tenants[\(i)].status")
            guard !tenant.tenantID.isEmpty, !tenant.tenantID.contains("/") else {
                throw SimulatorError.fixturesInvalid("tenants[\(i)].tenant_id is empty or contains '/'")
            }
        }
        for (i, incident) in incidents.enumerated() {
            try allowed(incident.status, ["active", "mitigated", "resolved"], "incidents[\(i)].status")
        }
        for (i, c) in cases.enumerated() {
            try allowed(c.status, ["open", "closed"], "cases[\(i)].status")
            guard (1...1440).contains(c.approvedDurationMinutes) else {
                throw SimulatorError.fixturesInvalid("cases[\(i)].approved_duration_minutes must be 1...1440")
            }
            for (a, approval) in c.approvals.enumerated() {
                try allowed(approval.status, ["approved", "revoked", "pending"], "cases[\(i)].approvals[\(a)].status")
            }
            try unique(c.approvals.map(\.approvalID), "approval_id in cases[\(i)]")
        }
        let settings = console
        guard !settings.serviceAccount.username.isEmpty, !settings.serviceAccount.password.isEmpty else {
            throw SimulatorError.fixturesInvalid("console.service_account needs a username and a password")
        }
        guard !settings.offeredScopes.isEmpty else {
            throw SimulatorError.fixturesInvalid("console.offered_scopes is empty")
        }
        try unique(settings.offeredScopes.map(\.scope), "console offered scope")
        guard (1...10_080).contains(settings.maxDurationMinutes) else {
            throw SimulatorError.fixturesInvalid("console.max_duration_minutes must be 1...10080")
        }
        guard settings.sessionIdleMinutes >= 1 else {
            throw SimulatorError.fixturesInvalid("console.session_idle_minutes must be at least 1")
        }
        for (tenantID, state) in iam {
            guard state.policy.maxDurationMinutes >= 1 else {
                throw SimulatorError.fixturesInvalid("iam.\(tenantID).policy.max_duration_minutes must be positive")
            }
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "(top level)" : String(text.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)): wrong type or missing value"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): unreadable"
        @unknown default:
            return "undecodable"
        }
    }
}
