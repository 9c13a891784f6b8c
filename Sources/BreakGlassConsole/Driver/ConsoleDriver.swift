public import BreakGlassCore
import Foundation
public import Logging
public import BreakGlassEvidence

/// Drives the emergency admin console for one request at a time per browser session, as its console map
/// describes it: screen by screen recognise → assert → fill → assert → masked screenshot → next; then the
/// pre-submit recheck, the console-state assertions, `beforeSubmit` (the ledger's `submitting`), the click, the
/// bounded wait for the confirmation, and the IAM verification. Any failure halts safely (draft saved where the
/// map allows, or abandoned) with a takeover record; every flow ends with a sealed evidence bundle.
///
/// A request whose ledger row is `submitting` (its worker died) must never be submitted again: call `reconcile`.
public struct ConsoleDriver: Sendable {
    public struct Configuration: Sendable {
        /// The console's base URL (`http://127.0.0.1:8080`).
        public var baseURL: String
        public var map: ConsoleMap
        /// The console service account.
        public var username: String
        public var password: Secret
        /// Written into every evidence manifest.
        public var workerID: String
        /// Bound on seeing the grant in IAM admin-state after the confirmation. Default 10 s.
        public var grantVerificationWindow: Duration
        /// Poll interval inside that window. Default 250 ms.
        public var grantVerificationInterval: Duration
        /// Other secrets to mask everywhere (the live-source bearer token, ...). The password always is.
        public var extraSecrets: [Secret]

        public init(
            baseURL: String, map: ConsoleMap, username: String, password: Secret, workerID: String,
            grantVerificationWindow: Duration = .seconds(15), grantVerificationInterval: Duration = .milliseconds(250),
            extraSecrets: [Secret] = []
        ) {
            self.baseURL = baseURL
            self.map = map
            self.username = username
            self.password = password
            self.workerID = workerID
            self.grantVerificationWindow = grantVerificationWindow
            self.grantVerificationInterval = grantVerificationInterval
            self.extraSecrets = extraSecrets
        }
    }

    public let configuration: Configuration
    public let pool: BrowserPool
    public let evidence: EvidenceStore
    let logger: Logger

    public init(
        configuration: Configuration, pool: BrowserPool, evidence: EvidenceStore,
        logger: Logger = Logger(label: "breakglass.console")
    ) {
        self.configuration = configuration
        self.pool = pool
        self.evidence = evidence
        self.logger = logger
    }

    /// Masks the console password, the extra secrets and every pattern of `Masker`.
    public var masker: Masker {
        Masker(literals: [configuration.password.revealed] + configuration.extraSecrets.map(\.revealed))
    }

    var map: ConsoleMap { configuration.map }

    /// What one flow accumulates until it ends.
    struct FlowState {
        var recorder: EvidenceRecorder
        var stage: TakeoverRecord.Stage = .console
        var screen: String?
        var completedScreens: [String] = []
        var entered: [String: String] = [:]
        var clicked = false
        var beforeSubmitRefused = false
        var draftID: String?
        var confirmationID: String?
        var notes: [String] = []
    }

    func metadata(_ request: RestorationRequest) -> Logger.Metadata {
        [
            "breakglass.case_id": "\(request.caseID)", "breakglass.tenant_id": "\(request.tenant.id)",
            "breakglass.request_id": "\(request.requestID)",
        ]
    }

    func newState(_ request: RestorationRequest) -> FlowState {
        var recorder = EvidenceRecorder(
            caseID: request.caseID, tenantID: request.tenant.id, requestID: request.requestID,
            workerID: configuration.workerID, masker: masker)
        recorder.document("request.json", RequestRecord(request))
        return FlowState(recorder: recorder)
    }

    func context(
        _ request: RestorationRequest, confirmationID: String? = nil, revokeReason: String? = nil
    ) -> ConsoleValue.Context {
        ConsoleValue.Context(
            request: request, username: configuration.username, password: configuration.password,
            confirmationID: confirmationID, revokeReason: revokeReason)
    }

    /// The request as evidence: identifiers, scopes, duration, approval references; person ids shortened.
    struct RequestRecord: Encodable {
        let requestID, caseID, tenantID, tenantName, incidentID, role: String
        let scopes: [String]
        let durationMinutes: Int
        let approvals: [[String: String]]
        let packetID, packetSHA256, requester, externalReference, notAfter: String

        init(_ r: RestorationRequest) {
            requestID = r.requestID
            caseID = r.caseID
            tenantID = r.tenant.id
            tenantName = r.tenant.name
            incidentID = r.incident.id
            role = r.privilege.role
            scopes = r.privilege.scopes
            durationMinutes = r.privilege.durationMinutes
            approvals = r.approvals.map {
                ["role": $0.role, "approval_id": $0.approvalID, "approver": Masker.maskIdentifier($0.approverID)]
            }
            packetID = r.packet.id
            packetSHA256 = r.packet.sha256
            requester = Masker.maskIdentifier(r.requester.adminID)
            externalReference = r.key.description
            notAfter = Timestamp.format(r.notAfter)
        }

        enum CodingKeys: String, CodingKey {
            case requestID = "request_id", caseID = "case_id", tenantID = "tenant_id", tenantName = "tenant_name"
            case incidentID = "incident_id", role, scopes, durationMinutes = "duration_minutes", approvals
            case packetID = "packet_id", packetSHA256 = "packet_sha256", requester, externalReference =
                "external_reference"
            case notAfter = "not_after"
        }
    }
}
