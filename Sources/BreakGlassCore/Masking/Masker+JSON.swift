/// Masking of structured values (entered form values, JSON documents).
extension Masker {
    /// A logical field's entered value, masked for a takeover record or evidence: secret fields are replaced whole,
    /// identifiers keep their last characters when `keepIdentifierSuffix` is set, everything else goes through
    /// `mask(_:)`.
    public func maskField(_ value: String, secret: Bool, keepIdentifierSuffix: Int? = nil) -> String {
        if secret { return Self.replacement }
        if let keep = keepIdentifierSuffix { return Self.maskIdentifier(mask(value), keep: keep) }
        return mask(value)
    }

    /// Each value of a field → value map masked with `mask(_:)`; keys listed in `secretFields` replaced whole.
    public func maskFields(_ values: [String: String], secretFields: Set<String> = []) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in values {
            result[key] = secretFields.contains(key) || isSecretKey(Substring(key)) ? Self.replacement : mask(value)
        }
        return result
    }
}
