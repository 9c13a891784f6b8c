public import BreakGlassCore
public import Foundation

/// Loads the live sources' bearer token from a secret file or an environment variable, as a `Secret`.
public enum BearerToken {
    /// The file wins when both are given. A single trailing newline (as `echo` writes) is removed; anything else
    /// that a header cannot carry (control characters, spaces) is refused.
    public static func load(
        file: String?, environmentVariable: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LiveSourcesError) -> Secret {
        var text: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .tokenUnreadable("cannot read token file \(file)")
            }
            text = String(decoding: data, as: UTF8.self)
            if text.hasSuffix("\r\n") { text.removeLast(2) } else if text.hasSuffix("\n") { text.removeLast() }
        } else if let environmentVariable {
            guard let value = environment[environmentVariable] else {
                throw .tokenMissing("environment variable \(environmentVariable) is not set")
            }
            text = value
        } else {
            throw .tokenMissing("set a token file or a token environment variable")
        }
        try validate(text)
        return Secret(text)
    }

    /// A token must be non-empty visible ASCII (RFC 6750 `b64token` and more): no spaces, no control characters.
    public static func validate(_ token: String) throws(LiveSourcesError) {
        guard !token.isEmpty else { throw .tokenInvalid("the token is empty") }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .tokenInvalid("the token holds spaces, control or non-ASCII characters")
        }
    }
}
