public import BreakGlassCore
public import Foundation

/// Collects one request's evidence while the console flow runs: masked screenshots, the redacted step log,
/// JSON documents (gate result, sources snapshot, entered values, confirmation, takeover), and timing marks.
/// Everything textual goes through the masker before it is kept.
public struct EvidenceRecorder: Sendable {
    public struct Step: Sendable, Hashable, Codable {
        public var seq: Int
        public var at: String
        public var stage: String
        public var screen: String?
        public var action: String
        public var outcome: String
        public var detail: String?
    }

    public let caseID: String
    public let tenantID: String
    public let requestID: String
    public let workerID: String
    public private(set) var masker: Masker
    public private(set) var steps: [Step] = []
    /// Timing marks by name (`recheck_started`, `recheck_finished`, `click`, `confirmation`, ...).
    public private(set) var marks: [String: Date] = [:]
    public private(set) var screenshotPaths: [String] = []
    private var documents: [String: Data] = [:]
    private var screenshots: [(path: String, png: Data)] = []
    private let startedAt: Date

    public init(
        caseID: String, tenantID: String, requestID: String, workerID: String, masker: Masker, startedAt: Date = Date()
    ) {
        self.caseID = caseID
        self.tenantID = tenantID
        self.requestID = requestID
        self.workerID = workerID
        self.masker = masker
        self.startedAt = startedAt
    }

    public var lastScreenshotPath: String? { screenshotPaths.last }

    /// One redacted line of the step log.
    public mutating func step(
        _ stage: String, screen: String? = nil, action: String, outcome: String = "ok", detail: String? = nil
    ) {
        steps.append(
            Step(
                seq: steps.count + 1, at: Timestamp.format(Date(), fractional: true), stage: stage,
                screen: screen, action: masker.mask(action), outcome: outcome, detail: detail.map(masker.mask)))
    }

    public mutating func mark(_ name: String, at date: Date = Date()) { marks[name] = date }

    /// Takes in what `other` recorded before this flow began (a console sign-in done ahead, issue 21.3): its steps
    /// (their own times kept, numbered after this log's) and its screenshots (numbered after this bundle's).
    public mutating func adopt(_ other: EvidenceRecorder) {
        for var step in other.steps {
            step.seq = steps.count + 1
            steps.append(step)
        }
        for shot in other.screenshots {
            let index = screenshots.count + 1
            let rest = shot.path.split(separator: "/").last.map { $0.drop { $0 != "-" } } ?? ""
            let path = "screenshots/\(index < 10 ? "0" : "")\(index)\(rest)"
            screenshots.append((path, shot.png))
            screenshotPaths.append(path)
        }
    }

    /// A PNG taken after the map's mask selectors were covered; returns its path in the bundle.
    @discardableResult
    public mutating func screenshot(_ png: Data, screen: String, label: String) -> String {
        let safe = { (text: String) in String(text.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }) }
        let index = screenshots.count + 1
        let path = "screenshots/\(index < 10 ? "0" : "")\(index)-\(safe(screen))-\(safe(label)).png"
        screenshots.append((path, png))
        screenshotPaths.append(path)
        return path
    }

    /// A JSON document (`gate.json`, `sources.json`, ...), encoded with sorted keys and then masked as text.
    public mutating func document(_ name: String, _ value: some Encodable) {
        let bytes: [UInt8]
        do { bytes = try SortedJSONEncoder(.pretty).encodeBytes(value) } catch {
            bytes = Array("{\"error\": \"not encodable\"}".utf8)
        }
        documents[name] = Data(masker.mask(String(decoding: bytes, as: UTF8.self)).utf8) + Data("\n".utf8)
    }

    /// The timing document: every mark, and the derived windows in milliseconds.
    public var timing: [String: String] {
        var result: [String: String] = ["started": Timestamp.format(startedAt, fractional: true)]
        for (name, date) in marks { result[name] = Timestamp.format(date, fractional: true) }
        func window(_ name: String, _ from: String, _ to: String) {
            if let a = marks[from], let b = marks[to] {
                result[name + "_ms"] = String(Int(((b.timeIntervalSince(a)) * 1000).rounded()))
            }
        }
        window("recheck_to_click", "recheck_finished", "click")
        window("click_to_confirmation", "click", "confirmation")
        if let end = marks["finished"] {
            result["total_ms"] = String(Int((end.timeIntervalSince(startedAt) * 1000).rounded()))
        }
        return result
    }

    /// The recheck → click window, when both happened.
    public var recheckToClick: TimeInterval? {
        guard let a = marks["recheck_finished"], let b = marks["click"] else { return nil }
        return b.timeIntervalSince(a)
    }

    /// The bundle: screenshots, `steps.jsonl`, the documents, `timing.json`.
    public mutating func bundle(
        kind: String, outcome: String, reasons: [String], bundleID: String? = nil
    ) -> EvidenceBundle {
        if marks["finished"] == nil { mark("finished") }
        let now = Date()
        var bundle = EvidenceBundle(
            bundleID: bundleID ?? EvidenceBundle.makeID(caseID: caseID, tenantID: tenantID, at: now), caseID: caseID,
            tenantID: tenantID, requestID: requestID, kind: kind, outcome: outcome, reasons: reasons,
            workerID: workerID,
            createdAt: now)
        // Paths below are generated here and always valid.
        for shot in screenshots { try? bundle.add(path: shot.path, data: shot.png, mediaType: "image/png") }
        let encoder = SortedJSONEncoder(.compact)
        var log: [UInt8] = []
        for step in steps {
            log += (try? encoder.encodeBytes(step)) ?? []
            log.append(UInt8(ascii: "\n"))
        }
        try? bundle.add(path: "steps.jsonl", data: Data(log), mediaType: "application/x-ndjson")
        for (name, data) in documents { try? bundle.add(path: name, data: data, mediaType: "application/json") }
        document("timing.json", timing)
        if let data = documents["timing.json"] {
            try? bundle.add(path: "timing.json", data: data, mediaType: "application/json")
        }
        return bundle
    }
}
