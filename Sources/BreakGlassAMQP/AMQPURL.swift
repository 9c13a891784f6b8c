/// A parsed `amqp://` / `amqps://` URL: `amqp[s]://user:password@host:port/vhost`.
///
/// The password is held but never printed: `description` and `redacted` replace it with `***`.
/// An empty path or `/` means the default virtual host `/`; `%2f` decodes to `/`.
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var tls: Bool
    public var user: String
    public var password: String
    public var host: String
    public var port: Int
    public var virtualHost: String

    public init(
        tls: Bool = false, user: String = "guest", password: String = "guest", host: String = "localhost",
        port: Int? = nil, virtualHost: String = "/"
    ) {
        self.tls = tls
        self.user = user
        self.password = password
        self.host = host
        self.port = port ?? (tls ? 5671 : 5672)
        self.virtualHost = virtualHost
    }

    /// Parses `string`; throws `AMQPError.invalidURL` with a reason that never contains the password.
    public init(parsing string: String) throws {
        let scheme: String
        let rest: Substring
        if let range = string.range(of: "://") {
            scheme = string[..<range.lowerBound].lowercased()
            rest = string[range.upperBound...]
        } else {
            throw AMQPError.invalidURL("missing scheme (expected amqp:// or amqps://)")
        }
        switch scheme {
        case "amqp": tls = false
        case "amqps": tls = true
        default: throw AMQPError.invalidURL("unsupported scheme \(scheme) (expected amqp or amqps)")
        }
        if rest.contains("?") || rest.contains("#") {
            throw AMQPError.invalidURL("query parameters and fragments are not supported; use the configuration")
        }
        let authority: Substring
        let path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = nil
        }
        var hostPort = authority
        user = "guest"
        password = "guest"
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "user")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], what: "password")
            } else {
                user = try Self.decode(userInfo, what: "user")
                password = ""
            }
            if user.isEmpty { throw AMQPError.invalidURL("empty user name") }
        }
        var parsedPort: Int?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw AMQPError.invalidURL("unterminated IPv6 host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw AMQPError.invalidURL("unexpected characters after host") }
                parsedPort = try Self.port(after.dropFirst())
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            parsedPort = try Self.port(hostPort[hostPort.index(after: colon)...])
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { throw AMQPError.invalidURL("missing host") }
        port = parsedPort ?? (tls ? 5671 : 5672)
        if let path, !path.isEmpty {
            if path.contains("/") { throw AMQPError.invalidURL("virtual host must be percent-encoded (use %2f for /)") }
            virtualHost = try Self.decode(path, what: "virtual host")
        } else {
            virtualHost = "/"
        }
    }

    private static func port(_ text: Substring) throws -> Int {
        guard let value = Int(text), (1...65535).contains(value) else {
            throw AMQPError.invalidURL("port must be a number from 1 to 65535")
        }
        return value
    }

    private static func decode(_ text: Substring, what: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next(), let low = iterator.next(),
                    let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                else {
                    throw AMQPError.invalidURL("bad percent-encoding in \(what)")
                }
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw AMQPError.invalidURL("\(what) is not valid UTF-8")
        }
        return decoded
    }

    /// The URL with the password replaced by `***`, safe for logs.
    public var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let vhost = virtualHost == "/" ? "" : virtualHost.replacingSlashes()
        return "\(tls ? "amqps" : "amqp")://\(user):***@\(hostPart):\(port)/\(vhost)"
    }

    public var description: String { redacted }
}

extension String {
    fileprivate func replacingSlashes() -> String {
        var out = ""
        for character in self { out += character == "/" ? "%2F" : String(character) }
        return out
    }
}
