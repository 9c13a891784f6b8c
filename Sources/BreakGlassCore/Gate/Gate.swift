public import Foundation

/// The gate: pure rules over (request, live-source answers, policy, now). No I/O.
///
/// Every failing condition becomes a `GateFinding` with the contract's reason code (§6); the gate passes only when
/// there is none. Each rule is written to stop rather than guess: a missing or contradictory value fails.
public enum Gate {
    /// The full gate, right before the console: every rule of the contract and the gate issue.
    public static func evaluate(
        request: RestorationRequest, snapshot: SourceSnapshot, policy: GatePolicy, now: Date
    ) -> GateResult {
        var findings: [GateFinding] = []
        checkNotAfter(request, policy, now, &findings)
        reportUnavailable(.escalationCase, snapshot.escalationCase, &findings)
        reportUnavailable(.tenant, snapshot.tenant, &findings)
        reportUnavailable(.incident, snapshot.incident, &findings)
        reportUnavailable(.identity, snapshot.identity, &findings)
        reportUnavailable(.iamAdminState, snapshot.iamAdminState, &findings)

        let caseRecord = checkCase(request, snapshot.escalationCase, &findings)
        let iam = checkIAMPresence(request, snapshot.iamAdminState, &findings)
        if let caseRecord {
            checkCaseMatchesMessage(request, caseRecord, &findings)
            checkApprovals(request, caseRecord, iam, policy, now, &findings)
            checkScopes(request, caseRecord, &findings)
        }
        checkDuration(request, caseRecord, iam, &findings)
        checkTenant(request, snapshot.tenant, &findings)
        checkIncident(request, snapshot.incident, &findings)
        checkIdentity(request, snapshot.identity, policy, now, &findings)
        if let iam {
            checkExistingSessions(iam, policy, now, &findings)
        }
        return GateResult(stage: .gate, findings: findings, evaluatedAt: now)
    }

    /// The recheck right before the console's final click: approvals (including segregation of duties), case status
    /// and existing session, with the same reason codes as the full gate.
    public static func preSubmitRecheck(
        request: RestorationRequest, snapshot: PreSubmitSnapshot, policy: GatePolicy, now: Date
    ) -> GateResult {
        var findings: [GateFinding] = []
        checkNotAfter(request, policy, now, &findings)
        reportUnavailable(.escalationCase, snapshot.escalationCase, &findings)
        reportUnavailable(.iamAdminState, snapshot.iamAdminState, &findings)
        let caseRecord = checkCase(request, snapshot.escalationCase, &findings)
        let iam = checkIAMPresence(request, snapshot.iamAdminState, &findings)
        if let caseRecord {
            checkApprovals(request, caseRecord, iam, policy, now, &findings)
        }
        if let iam {
            checkExistingSessions(iam, policy, now, &findings)
        }
        return GateResult(stage: .preSubmit, findings: findings, evaluatedAt: now)
    }

    // MARK: - Rules

    static func checkNotAfter(
        _ request: RestorationRequest, _ policy: GatePolicy, _ now: Date, _ f: inout [GateFinding]
    ) {
        if now.addingTimeInterval(policy.clockSkewTolerance) >= request.notAfter {
            f.append(GateFinding(.requestExpired, "not_after has passed (within the clock-skew tolerance)"))
        }
    }

    static func reportUnavailable<V>(_ kind: SourceKind, _ answer: SourceAnswer<V>, _ f: inout [GateFinding]) {
        if case .unavailable(let detail) = answer {
            f.append(GateFinding(.sourceUnavailable, "the \(kind) source could not be read: \(detail)"))
        }
    }

    static func checkCase(
        _ request: RestorationRequest, _ answer: SourceAnswer<CaseRecord>, _ f: inout [GateFinding]
    ) -> CaseRecord? {
        switch answer {
        case .unavailable:
            return nil
        case .notFound:
            f.append(GateFinding(.caseNotFound, "case \(request.caseID) does not exist in the case source"))
            return nil
        case .found(let record):
            guard record.caseID == request.caseID else {
                f.append(
                    GateFinding(
                        .caseNotFound, "the case source answered for a different case_id than \(request.caseID)"))
                return nil
            }
            if record.status != .open {
                f.append(
                    GateFinding(.caseClosed, "case \(request.caseID) has status \(record.status.rawValue), not open"))
            }
            return record
        }
    }

    static func checkIAMPresence(
        _ request: RestorationRequest, _ answer: SourceAnswer<IAMAdminState>, _ f: inout [GateFinding]
    ) -> IAMAdminState? {
        switch answer {
        case .unavailable:
            return nil
        case .notFound:
            f.append(GateFinding(.tenantMismatch, "IAM has no admin state for tenant \(request.tenant.id)"))
            return nil
        case .found(let state):
            return state
        }
    }

    static func checkCaseMatchesMessage(_ request: RestorationRequest, _ c: CaseRecord, _ f: inout [GateFinding]) {
        if c.tenantID != request.tenant.id {
            f.append(
                GateFinding(.tenantMismatch, "case tenant_id differs from the message's tenant.id \(request.tenant.id)")
            )
        }
        if c.incidentID != request.incident.id {
            f.append(
                GateFinding(
                    .incidentMismatch, "case incident_id differs from the message's incident.id \(request.incident.id)")
            )
        }
        if c.requesterAdminID != request.requester.adminID {
            f.append(
                GateFinding(
                    .identityUnverified, "case requester_admin_id differs from the message's requester.admin_id"))
        }
        if c.packet.id != request.packet.id {
            f.append(
                GateFinding(.packetMismatch, "case packet.id differs from the message's packet.id \(request.packet.id)")
            )
        }
        if c.packet.sha256.lowercased() != request.packet.sha256.lowercased() {
            f.append(GateFinding(.packetMismatch, "case packet.sha256 differs from the message's packet.sha256"))
        }
    }

    static func checkApprovals(
        _ request: RestorationRequest, _ c: CaseRecord, _ iam: IAMAdminState?, _ policy: GatePolicy, _ now: Date,
        _ f: inout [GateFinding]
    ) {
        let skew = policy.clockSkewTolerance
        // The message's approvals must be the case's: same ids, roles and approvers, each once.
        var seenIDs = Set<String>()
        var relied: [CaseRecord.Approval] = []
        for claimed in request.approvals {
            guard seenIDs.insert(claimed.approvalID).inserted else {
                f.append(
                    GateFinding(
                        .approvalMismatch, "approval \(claimed.approvalID) appears more than once in the message"))
                continue
            }
            guard let actual = c.approvals.first(where: { $0.approvalID == claimed.approvalID }) else {
                f.append(
                    GateFinding(
                        .approvalMismatch, "approval \(claimed.approvalID) (\(claimed.role)) is not in case \(c.caseID)"
                    ))
                continue
            }
            if actual.role != claimed.role {
                f.append(
                    GateFinding(
                        .approvalMismatch,
                        "approval \(claimed.approvalID): the case records role \(actual.role), the message \(claimed.role)"
                    ))
            }
            if actual.approverID != claimed.approverID {
                f.append(
                    GateFinding(
                        .approvalMismatch,
                        "approval \(claimed.approvalID): approver_id in the message differs from the case"))
            }
            relied.append(actual)
        }

        // Each approval relied on must be approved, unexpired and recent.
        for a in relied {
            let label = "approval \(a.approvalID) (\(a.role))"
            switch a.status {
            case .revoked:
                f.append(GateFinding(.approvalRevoked, "\(label) is revoked"))
            case .pending:
                f.append(GateFinding(.approvalPending, "\(label) is still pending"))
            case .approved:
                if let expiresAt = a.expiresAt, expiresAt <= now.addingTimeInterval(skew) {
                    f.append(GateFinding(.approvalExpired, "\(label) expired at \(Timestamp.format(expiresAt))"))
                } else if let approvedAt = a.approvedAt {
                    if approvedAt > now.addingTimeInterval(skew) {
                        f.append(
                            GateFinding(
                                .approvalMismatch,
                                "\(label) has approved_at in the future beyond the clock-skew tolerance"))
                    } else if now.addingTimeInterval(skew).timeIntervalSince(approvedAt) > policy.maxApprovalAge {
                        f.append(
                            GateFinding(
                                .approvalStale,
                                "\(label) was approved at \(Timestamp.format(approvedAt)), longer ago than the maximum approval age of \(Int(policy.maxApprovalAge)) s"
                            ))
                    }
                } else {
                    f.append(
                        GateFinding(
                            .approvalStale, "\(label) is approved but has no approved_at, so its age is unknown"))
                }
            }
        }

        // Every required role must be covered, in the case and in the message.
        let required = policy.requiredRolesOverride ?? iam?.policy.requiredApprovalRoles
        if let required {
            if required.isEmpty {
                f.append(
                    GateFinding(
                        .approvalMissing,
                        "no required approval roles are defined (IAM policy or configuration); a grant needs at least one"
                    ))
            }
            for role in Set(required).sorted() {
                if !c.approvals.contains(where: { $0.role == role }) {
                    f.append(
                        GateFinding(.approvalMissing, "case \(c.caseID) has no approval for required role \(role)"))
                } else if !request.approvals.contains(where: { $0.role == role }) {
                    f.append(GateFinding(.approvalMissing, "the message carries no approval for required role \(role)"))
                }
            }
        }

        // Segregation of duties over the approvals relied on, as the case records them.
        var byApprover: [String: String] = [:]
        for a in relied {
            if let other = byApprover[a.approverID] {
                f.append(
                    GateFinding(.sodViolation, "approvals \(other) and \(a.approvalID) were given by the same person"))
            } else {
                byApprover[a.approverID] = a.approvalID
            }
            if a.approverID == request.requester.adminID || a.approverID == c.requesterAdminID {
                f.append(GateFinding(.sodViolation, "approval \(a.approvalID) was given by the requester"))
            }
            if a.approverID == policy.workerServiceIdentity {
                f.append(
                    GateFinding(
                        .sodViolation, "approval \(a.approvalID) was given by the worker's own service identity"))
            }
            if let iam, !(iam.directoryRoles[a.approverID] ?? []).contains(a.role) {
                f.append(
                    GateFinding(
                        .sodViolation, "the approver of \(a.approvalID) does not hold role \(a.role) in directory_roles"
                    ))
            }
        }
    }

    static func checkScopes(_ request: RestorationRequest, _ c: CaseRecord, _ f: inout [GateFinding]) {
        let approved = Set(c.approvedScopes)
        let beyond = request.privilege.scopes.filter { !approved.contains($0) }
        if !beyond.isEmpty {
            f.append(
                GateFinding(
                    .scopeExceedsApproval, "scopes not in the case's approved_scopes: \(beyond.joined(separator: ", "))"
                ))
        }
    }

    static func checkDuration(
        _ request: RestorationRequest, _ c: CaseRecord?, _ iam: IAMAdminState?, _ f: inout [GateFinding]
    ) {
        let minutes = request.privilege.durationMinutes
        if let c, minutes > c.approvedDurationMinutes {
            f.append(
                GateFinding(
                    .durationExceedsPolicy,
                    "duration_minutes \(minutes) exceeds the case's approved_duration_minutes \(c.approvedDurationMinutes)"
                ))
        }
        if let iam, minutes > iam.policy.maxDurationMinutes {
            f.append(
                GateFinding(
                    .durationExceedsPolicy,
                    "duration_minutes \(minutes) exceeds the IAM policy's max_duration_minutes \(iam.policy.maxDurationMinutes)"
                ))
        }
    }

    static func checkTenant(
        _ request: RestorationRequest, _ answer: SourceAnswer<TenantRecord>, _ f: inout [GateFinding]
    ) {
        switch answer {
        case .unavailable:
            return
        case .notFound:
            f.append(GateFinding(.tenantMismatch, "tenant \(request.tenant.id) does not exist in the tenant master"))
        case .found(let t):
            if t.tenantID != request.tenant.id {
                f.append(
                    GateFinding(
                        .tenantMismatch,
                        "the tenant master answered for a different tenant_id than \(request.tenant.id)"))
            }
            if t.name != request.tenant.name {
                f.append(
                    GateFinding(
                        .tenantMismatch,
                        "tenant.name in the message differs from the tenant master's name for \(request.tenant.id)"))
            }
            if t.status != .active {
                f.append(
                    GateFinding(
                        .tenantInactive, "tenant \(request.tenant.id) has status \(t.status.rawValue), not active"))
            }
        }
    }

    static func checkIncident(
        _ request: RestorationRequest, _ answer: SourceAnswer<IncidentRecord>, _ f: inout [GateFinding]
    ) {
        switch answer {
        case .unavailable:
            return
        case .notFound:
            f.append(GateFinding(.incidentMismatch, "incident \(request.incident.id) does not exist"))
        case .found(let i):
            if i.incidentID != request.incident.id {
                f.append(
                    GateFinding(
                        .incidentMismatch,
                        "the incident source answered for a different incident_id than \(request.incident.id)"))
            }
            if !i.tenantIDs.contains(request.tenant.id) {
                f.append(
                    GateFinding(
                        .incidentMismatch,
                        "incident \(request.incident.id) does not list tenant \(request.tenant.id) in tenant_ids"))
            }
            if i.status != .active {
                f.append(
                    GateFinding(
                        .incidentNotActive,
                        "incident \(request.incident.id) has status \(i.status.rawValue), not active"))
            }
        }
    }

    static func checkIdentity(
        _ request: RestorationRequest, _ answer: SourceAnswer<IdentityAssurance>, _ policy: GatePolicy, _ now: Date,
        _ f: inout [GateFinding]
    ) {
        switch answer {
        case .unavailable:
            return
        case .notFound:
            f.append(
                GateFinding(
                    .identityUnverified, "no identity assurance record for the requester's identity_assurance_ref"))
        case .found(let a):
            if a.adminID != request.requester.adminID || a.ref != request.requester.identityAssuranceRef {
                f.append(
                    GateFinding(
                        .identityUnverified,
                        "the identity assurance answer is for a different admin_id or ref than the message's requester")
                )
            }
            guard a.verified else {
                f.append(GateFinding(.identityUnverified, "the requester's identity assurance is not verified"))
                return
            }
            guard let verifiedAt = a.verifiedAt else {
                f.append(GateFinding(.identityUnverified, "the requester's identity assurance has no verified_at"))
                return
            }
            let skewed = now.addingTimeInterval(policy.clockSkewTolerance)
            if verifiedAt > skewed {
                f.append(
                    GateFinding(.identityUnverified, "verified_at lies in the future beyond the clock-skew tolerance"))
            } else if skewed.timeIntervalSince(verifiedAt) > policy.identityAssuranceMaxAge {
                f.append(
                    GateFinding(
                        .identityUnverified,
                        "the requester was verified at \(Timestamp.format(verifiedAt)), longer ago than the maximum of \(Int(policy.identityAssuranceMaxAge)) s"
                    ))
            }
        }
    }

    static func checkExistingSessions(_ iam: IAMAdminState, _ policy: GatePolicy, _ now: Date, _ f: inout [GateFinding])
    {
        let threshold = now.addingTimeInterval(-policy.clockSkewTolerance)
        let active = iam.activeBreakglassSessions.filter { $0.expiresAt > threshold }
        if !active.isEmpty {
            let refs = active.map(\.grantRef).joined(separator: ", ")
            f.append(
                GateFinding(
                    .existingSession, "the tenant already has \(active.count) unexpired break-glass session(s): \(refs)"
                ))
        }
    }
}
