/// What a person needs to pick up a halted request where the worker stopped (issue 7, safe halt).
///
/// Stored as JSON with the ledger row. Entered values are stored MASKED: the caller masks them before
/// building the record; this type never sees a clear secret.
public struct TakeoverRecord: Sendable, Hashable, Codable {
    /// The contract's `stage` of a halt (§5, `breakglass.restoration.halted`).
    public enum Stage: String, Sendable, Hashable, Codable, CaseIterable {
        case gate
        case console
        case preSubmit = "pre-submit"
        case postSubmit = "post-submit"
        case recovery
    }

    public var reasons: [ReasonCode]
    public var stage: Stage
    /// True where access may have been granted (at or after the final click).
    public var escalate: Bool
    /// The console map's name of the screen the worker was on, if any.
    public var screen: String?
    /// The console URL the worker was on (without query secrets), if any.
    public var url: String?
    /// Logical field → masked value that was entered but not submitted.
    public var enteredValues: [String: String]
    public var approvalRefs: [String]
    /// The console's draft id when the map has "Save draft" and saving worked.
    public var draftID: String?
    /// Path of the last masked screenshot in the evidence bundle.
    public var lastScreenshotPath: String?
    /// Free text for the person taking over (no secrets).
    public var note: String?

    public init(
        reasons: [ReasonCode], stage: Stage, escalate: Bool, screen: String? = nil, url: String? = nil,
        enteredValues: [String: String] = [:], approvalRefs: [String] = [], draftID: String? = nil,
        lastScreenshotPath: String? = nil, note: String? = nil
    ) {
        self.reasons = reasons
        self.stage = stage
        self.escalate = escalate
        self.screen = screen
        self.url = url
        self.enteredValues = enteredValues
        self.approvalRefs = approvalRefs
        self.draftID = draftID
        self.lastScreenshotPath = lastScreenshotPath
        self.note = note
    }

    private enum CodingKeys: String, CodingKey {
        case reasons, stage, escalate, screen, url
        case enteredValues = "entered_values"
        case approvalRefs = "approval_refs"
        case draftID = "draft_id"
        case lastScreenshotPath = "last_screenshot_path"
        case note
    }
}
