public import Foundation

extension GovernanceReport {
    /// The stable JSON form: sorted keys, rates as fractions (0...1, 4 decimals) or null when nothing was counted.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return ((try? encoder.encode(self)) ?? Data("{}".utf8)) + Data("\n".utf8)
    }

    /// `metric,value` rows: the JSON form flattened with dotted paths (`grants.clean_rate,1`); lists joined by
    /// `;`, list elements that are objects indexed (`evidence.failures.0.key`).
    public func csv() -> String {
        var rows: [(String, String)] = []
        if let object = try? JSONSerialization.jsonObject(with: json()) { Self.flatten(object, path: "", into: &rows) }
        return (["metric,value"] + rows.map { "\(Self.csvField($0.0)),\(Self.csvField($0.1))" }).joined(separator: "\n")
            + "\n"
    }

    /// A readable summary for a terminal.
    public func table() -> String {
        func percent(_ value: Double?) -> String {
            value.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a"
        }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.0f ms", $0) } ?? "n/a" }
        func counts(_ values: [String: Int]) -> String {
            values.isEmpty
                ? "none" : values.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        func list(_ values: [String]) -> String { values.isEmpty ? "none" : values.joined(separator: ", ") }
        var lines = [
            "break-glass governance report (\(format)), generated \(generatedAt)"
                + (since.map { ", since \($0)" } ?? "")
        ]
        lines.append("")
        lines.append("requests                      \(requests.total)  (\(counts(requests.byOutcome)))")
        lines.append(
            "  replays suppressed          \(requests.replaysSuppressed)  (\(requests.sightings) sighting(s) of request ids)"
        )
        lines.append("  resumed by a person         \(requests.resumedKeys) key(s), \(requests.resumes) resume(s)")
        lines.append("grants                        \(grants.total)")
        lines.append("  clean (no over-privilege,   \(grants.clean)  \(percent(grants.cleanRate))")
        lines.append("   duplicate or revocation)")
        lines.append("  over-privileged             \(list(grants.overPrivileged))")
        lines.append("    (checks the expiry only;  scopes are taken from the request, not read from the console)")
        if !grants.overPrivilegeUnknown.isEmpty {
            lines.append(
                "  over-privilege unknown      \(list(grants.overPrivilegeUnknown))  (original request unreadable)")
        }
        lines.append("  duplicates                  \(list(grants.duplicates))")
        lines.append("  revoked                     \(list(grants.revoked))")
        lines.append("  revocation failed           \(list(grants.revocationFailed))")
        lines.append("  by reconciliation           \(grants.byReconciliation)")
        lines.append("anomalies before submission   \(anomaliesBeforeSubmission.total)")
        lines.append("  by category                 \(counts(anomaliesBeforeSubmission.byCategory))")
        lines.append("  by reason                   \(counts(anomaliesBeforeSubmission.byReason))")
        lines.append(
            "rejections                    \(rejections.total)  (\(rejections.withoutKey) without a readable key; "
                + "\(rejections.onBusyKey) on a held or decided key; \(counts(rejections.byReason)))")
        lines.append(
            "halts                         \(halts.total)  (open \(halts.open), resumed \(halts.resumed), resolved \(halts.resolved))"
        )
        lines.append("  complete takeover record    \(halts.complete)  \(percent(halts.completeRate))")
        lines.append("  incomplete                  \(list(halts.incomplete))")
        lines.append(
            "grant evidence verified       \(evidence.verified)/\(evidence.grantsChecked)  \(percent(evidence.verifiedRate))"
        )
        for failure in evidence.failures {
            lines.append(
                "  FAILED \(failure.key) \(failure.bundleID ?? "-"): \(failure.problems.joined(separator: "; "))")
        }
        lines.append("evidence-ready vs store       \(evidence.mismatches.count) mismatch(es)")
        for mismatch in evidence.mismatches {
            lines.append("  MISMATCH \(mismatch.key) \(mismatch.bundleID): \(mismatch.problem)")
        }
        lines.append(
            "recheck -> submit             p50 \(ms(recheckToSubmitMs.p50)), p95 \(ms(recheckToSubmitMs.p95)) "
                + "(\(recheckToSubmitMs.samples) sample(s))")
        lines.append(
            "escalations                   \(escalations.total)  (open \(escalations.open))  \(list(escalations.takeoverIDs))"
        )
        return lines.joined(separator: "\n") + "\n"
    }

    static func flatten(_ value: Any, path: String, into rows: inout [(String, String)]) {
        switch value {
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                flatten(object[key]!, path: path.isEmpty ? key : "\(path).\(key)", into: &rows)
            }
        case let array as [Any]:
            if array.allSatisfy({ !($0 is [String: Any]) && !($0 is [Any]) }) {
                rows.append((path, array.map(scalar).joined(separator: ";")))
            } else {
                for (index, element) in array.enumerated() { flatten(element, path: "\(path).\(index)", into: &rows) }
            }
        default:
            rows.append((path, scalar(value)))
        }
    }

    static func scalar(_ value: Any) -> String {
        switch value {
        case is NSNull: ""
        case let string as String: string
        case let number as NSNumber:
            // JSONSerialization gives booleans as NSNumber too; the report has none.
            number.stringValue
        default: String(describing: value)
        }
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
