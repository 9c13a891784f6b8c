/// Random tokens and codes, and a constant-time comparison for secrets.
enum SimulatorRandom {
    private static let codeAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)

    /// 32 random bytes as lowercase hex (session ids, CSRF tokens, generated API tokens).
    static func token() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(64)
        for _ in 0..<32 {
            let byte = UInt8.random(in: 0...255, using: &generator)
            let hex = String(byte, radix: 16)
            text += hex.count == 1 ? "0" + hex : hex
        }
        return text
    }

    /// 8 characters `[A-Z0-9]` (confirmation and draft ids).
    static func code() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(decoding: (0..<8).map { _ in codeAlphabet.randomElement(using: &generator)! }, as: UTF8.self)
    }

    /// Compares without stopping at the first difference.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference: UInt8 = x.count == y.count ? 0 : 1
        for i in 0..<max(x.count, y.count) {
            difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return difference == 0
    }
}
