/// The contract's identifier rule (§2): `^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`.
public enum Identifier {
    public static let maximumLength = 128

    public static func isValid<S: StringProtocol>(_ text: S) -> Bool {
        var count = 0
        for byte in text.utf8 {
            count += 1
            if count > maximumLength { return false }
            let alnum =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            if count == 1 {
                guard alnum else { return false }
            } else {
                guard alnum || byte == 0x2E || byte == 0x5F || byte == 0x3A || byte == 0x2D else { return false }
            }
        }
        return count >= 1
    }
}
