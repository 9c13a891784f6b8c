import Synchronization

/// The compiled regular expressions of `Masker`, built once and reused.
///
/// Swift `Regex` values are not `Sendable`, and compiling one costs far more than a match (the benchmarks found
/// compiling on every call to be most of a worker's CPU on the gate path). So compiled sets live in a small pool: a
/// masking call takes a set, uses it on its own thread, and gives it back; no set is ever used by two threads at
/// once, which is what makes the `@unchecked Sendable` sound.
final class MaskerPatterns: @unchecked Sendable {
    let headers = try! Regex(#"((?:set-)?cookie|(?:proxy-)?authorization)(\s*:\s*)([^\r\n]+)"#).ignoresCase()
    let schemes = try! Regex(#"\b(bearer|basic)(\s+)(?!\*\*\*)[A-Za-z0-9._~+/=-]+"#).ignoresCase()
    let jsonMembers = try! Regex(#""([A-Za-z0-9_.-]{2,64})"(\s*:\s*)"((?:[^"\\]|\\.)*)""#)
    let pairs = try! Regex(#"\b([A-Za-z][A-Za-z0-9_-]{1,63})(=|:[ \t]*)([^&;,\s"'<>]+)"#)
    let emails = try! Regex(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#)
    private var tokens: [Int: Regex<AnyRegexOutput>] = [:]

    /// Runs of `minimum` or more token characters.
    func tokens(minimum: Int) -> Regex<AnyRegexOutput> {
        if let regex = tokens[minimum] { return regex }
        let regex = try! Regex("[A-Za-z0-9+/=_-]{\(minimum),}")
        tokens[minimum] = regex
        return regex
    }

    private static let pool = Mutex<[MaskerPatterns]>([])
    private static let poolLimit = 16

    /// Runs `body` with a compiled set that no other thread uses meanwhile.
    static func with<T>(_ body: (MaskerPatterns) -> T) -> T {
        let patterns = pool.withLock { $0.popLast() } ?? MaskerPatterns()
        defer { pool.withLock { if $0.count < poolLimit { $0.append(patterns) } } }
        return body(patterns)
    }
}
