import AsyncHTTPClient
import BreakGlassCore
import Foundation
import NIOCore

extension LiveSourcesClient {
    /// What decoding cannot check on a case: that it is the case asked for, and sane numbers and ids.
    static func validate(_ record: CaseRecord, caseID: String) -> String? {
        guard record.caseID == caseID else { return "case_id differs from the one asked for" }
        guard (1...1440).contains(record.approvedDurationMinutes) else {
            return "approved_duration_minutes is outside 1...1440"
        }
        guard !record.packet.id.isEmpty, !record.packet.sha256.isEmpty else { return "packet id or sha256 is empty" }
        for approval in record.approvals
        where approval.approvalID.isEmpty || approval.role.isEmpty || approval.approverID.isEmpty {
            return "an approval has an empty approval_id, role or approver_id"
        }
        return nil
    }

    static func validate(_ record: IAMAdminState) -> String? {
        guard record.policy.maxDurationMinutes >= 1 else { return "policy.max_duration_minutes is not positive" }
        return nil
    }

    /// A path segment: identifiers are already restricted to `[A-Za-z0-9._:-]` by the request decoder; anything
    /// else is percent-encoded so it cannot change the path.
    static func segment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? "_"
    }

    /// Full jitter between half and all of the pause, so many workers do not retry in lockstep.
    static func jittered(_ pause: Duration) -> Duration {
        pause * Double.random(in: 0.5...1.0)
    }

    /// A short, secret-free description of a transport failure.
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "timeout"
            case .connectTimeout: return "connection timeout"
            case .remoteConnectionClosed: return "connection closed by the source"
            default: return "HTTP client failure (\(error))"
            }
        }
        if error is ChannelError { return "connection failure" }
        if error is CancellationError { return "cancelled" }
        return "connection failure (\(type(of: error)))"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.isEmpty ? "(top level)" : String(text.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context): return "\(path(context.codingPath)) is invalid"
        @unknown default: return "undecodable"
        }
    }
}

extension Duration {
    /// As NIO's `TimeAmount` (nanoseconds).
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
