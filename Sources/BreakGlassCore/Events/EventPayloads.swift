/// `data` of `breakglass.restoration.outcome`.
public struct OutcomeData: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Hashable, Codable { case granted, rejected }

    public var caseID: String?
    public var tenantID: String?
    public var requestID: String?
    public var result: Result
    public var confirmationID: String?
    public var scopes: [String]
    public var expiresAt: String?
    public var reasons: [ReasonCode]?

    public init(
        caseID: String?, tenantID: String?, requestID: String?, result: Result, confirmationID: String? = nil,
        scopes: [String], expiresAt: String? = nil, reasons: [ReasonCode]? = nil
    ) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.result = result
        self.confirmationID = confirmationID
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.reasons = reasons
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", tenantID = "tenant_id", requestID = "request_id", result
        case confirmationID = "confirmation_id", scopes, expiresAt = "expires_at", reasons
    }
}

/// `data` of `breakglass.restoration.halted`.
public struct HaltedData: Sendable, Hashable, Codable {
    /// The contract's stages; the same type the takeover record carries, so a halt and its event never disagree.
    public typealias Stage = TakeoverRecord.Stage

    public var caseID: String
    public var tenantID: String
    public var requestID: String
    public var stage: Stage
    public var reasons: [ReasonCode]
    /// True where access may have been granted.
    public var escalate: Bool
    public var takeoverID: String

    public init(
        caseID: String, tenantID: String, requestID: String, stage: Stage, reasons: [ReasonCode], escalate: Bool,
        takeoverID: String
    ) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.stage = stage
        self.reasons = reasons
        self.escalate = escalate
        self.takeoverID = takeoverID
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", tenantID = "tenant_id", requestID = "request_id", stage, reasons, escalate
        case takeoverID = "takeover_id"
    }
}

/// `data` of `breakglass.restoration.evidence-ready`.
public struct EvidenceReadyData: Sendable, Hashable, Codable {
    public var caseID: String
    public var tenantID: String
    public var requestID: String
    public var bundleID: String
    public var manifestSHA256: String
    public var location: String
    public var artifacts: Int

    public init(
        caseID: String, tenantID: String, requestID: String, bundleID: String, manifestSHA256: String,
        location: String, artifacts: Int
    ) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.bundleID = bundleID
        self.manifestSHA256 = manifestSHA256
        self.location = location
        self.artifacts = artifacts
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", tenantID = "tenant_id", requestID = "request_id", bundleID = "bundle_id"
        case manifestSHA256 = "manifest_sha256", location, artifacts
    }
}

/// `data` of `breakglass.restoration.revoked`.
public struct RevokedData: Sendable, Hashable, Codable {
    public enum Result: String, Sendable, Hashable, Codable { case revoked, failed }

    public var caseID: String
    public var tenantID: String
    public var confirmationID: String
    public var revokedBy: String
    public var reason: String
    public var result: Result

    public init(
        caseID: String, tenantID: String, confirmationID: String, revokedBy: String, reason: String, result: Result
    ) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.confirmationID = confirmationID
        self.revokedBy = revokedBy
        self.reason = reason
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", tenantID = "tenant_id", confirmationID = "confirmation_id"
        case revokedBy = "revoked_by", reason, result
    }
}

/// `data` of `breakglass.restoration.resumed`.
public struct ResumedData: Sendable, Hashable, Codable {
    public var caseID: String
    public var tenantID: String
    public var takeoverID: String
    public var resumedBy: String
    public var note: String

    public init(caseID: String, tenantID: String, takeoverID: String, resumedBy: String, note: String) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.takeoverID = takeoverID
        self.resumedBy = resumedBy
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case caseID = "case_id", tenantID = "tenant_id", takeoverID = "takeover_id", resumedBy = "resumed_by", note
    }
}
