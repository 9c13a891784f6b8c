import Foundation
import BreakGlassCore

/// Builds request bodies for tests: the contract's example, as a mutable JSON tree.
enum RequestFixtures {
    static let now = Timestamp.parse("2026-11-25T18:30:00Z")!

    static var validBody: Data {
        let url = Bundle.module.url(forResource: "valid-request", withExtension: "json", subdirectory: "Fixtures")!
        return try! Data(contentsOf: url)
    }

    static func validObject() -> [String: Any] {
        try! JSONSerialization.jsonObject(with: validBody) as! [String: Any]
    }

    static func body(_ object: [String: Any]) -> Data {
        try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// The valid request with one change applied at a dotted path (`privilege.scopes`, `approvals.1.role`).
    static func mutated(_ path: String, _ change: Change) -> Data {
        body(apply(validObject(), path.split(separator: ".").map(String.init), change) as! [String: Any])
    }

    enum Change {
        case set(Any)
        case remove
    }

    /// Returns `value` with the change applied at `path`; `nil` from a `.remove` at the leaf.
    private static func apply(_ value: Any, _ path: [String], _ change: Change) -> Any? {
        guard let head = path.first else {
            if case .set(let newValue) = change { return newValue }
            return nil
        }
        let rest = Array(path.dropFirst())
        if var object = value as? [String: Any] {
            object[head] = object[head].flatMap { apply($0, rest, change) } ?? (rest.isEmpty ? leaf(change) : nil)
            return object
        }
        if var array = value as? [Any], let index = Int(head), array.indices.contains(index) {
            if let updated = apply(array[index], rest, change) {
                array[index] = updated
            } else {
                array.remove(at: index)
            }
            return array
        }
        return value
    }

    private static func leaf(_ change: Change) -> Any? {
        if case .set(let value) = change { return value }
        return nil
    }

    static let signer = try! RequestSigner(
        keyID: "escalation-2026", seedBase64: Data(repeating: 7, count: 32).base64EncodedString())
    static let otherSigner = try! RequestSigner(
        keyID: "escalation-2026", seedBase64: Data(repeating: 9, count: 32).base64EncodedString())
    static let trustedKeys = TrustedKeys(raw: ["escalation-2026": signer.publicKeyRaw])
    static let verifier = MessageVerifier(trustedKeys: trustedKeys)

    static func header(for body: Data) -> String { signer.signature(for: body).value }
}
