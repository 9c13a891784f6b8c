import BreakGlassLedger
package import Foundation

extension PostgresLedger {
    /// Where the shared ledger lives and how the worker uses it.
    ///
    /// The password never appears in a URL (`init(url:password:)` refuses one), in `redactedURL`, in `description`,
    /// in a log line or in an error: it comes from a file (`ledger.password_file`).
    public struct Configuration: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        /// How the connection to the server is protected.
        public enum TLSMode: Sendable, Hashable {
            /// Plain TCP (`sslmode=disable`): only for a server on the same host.
            case disable
            /// TLS without checking the server's certificate (`sslmode=require`): encrypted, not authenticated.
            case require
            /// TLS, the certificate checked against `caFile` (PEM) or the system's roots when nil, and the host name
            /// checked against the certificate (`sslmode=verify-full`, `sslrootcert=PATH`).
            case verifyFull(caFile: String?)
        }

        /// The server's host name or IP address.
        public var host: String
        /// The server's port. Default 5432.
        public var port: Int = 5432
        /// The role the worker logs in as.
        public var username: String
        /// The database holding the ledger's tables (created in it when missing).
        public var database: String
        /// The role's password, read from a file; nil for trust or certificate authentication. Never logged.
        public var password: String?
        /// TLS to the server. When the URL names no `sslmode`, `init(url:password:)` picks `.verifyFull` (with
        /// `sslrootcert` when given), or `.disable` for a loopback host (localhost, 127.0.0.0/8, ::1) without one.
        public var tls: TLSMode
        /// How long a claim lasts without renewal (`ledger.lease_seconds`). Default 120 s.
        public var leaseDuration: Duration = .seconds(120)
        /// How often a person may resume one key. Default 3.
        public var maximumResumes: Int = 3
        /// Final decisions kept in memory for `decision(for:)`; the cache is emptied when full. Default 100,000.
        public var decisionCacheLimit: Int = 100_000
        /// The most connections the ledger's pool opens (one of them is held by the LISTEN for the outbox's
        /// doorbell). Default 8.
        public var maximumConnections: Int = 8
        /// How long opening one connection may take (TCP, TLS, authentication). Default 10 s.
        public var connectTimeout: Duration = .seconds(10)
        /// How long `writeProbe()` waits for its write before it reports the ledger unwritable. Default 5 s.
        public var writeProbeTimeout: Duration = .seconds(5)
        /// The longest one ledger operation (a transaction or a statement) may wait for the server; past it the
        /// connection is closed and the operation fails as a database error. A server that restarted while this
        /// host was cut off leaves connections no reset ever reaches: without this bound a call waits forever (a
        /// multi-host run saw a worker's flow and its lease renewal hang for minutes). Default 30 s.
        public var operationTimeout: Duration = .seconds(30)

        /// Tests only: seconds added to the server's clock wherever the ledger reads it (leases, timestamps,
        /// `clock`), so a test moves time without sleeping. nil (no shift) in production.
        package var testClockShift: (@Sendable () -> TimeInterval)?

        /// A configuration from its parts.
        public init(
            host: String, port: Int = 5432, username: String, database: String, password: String?,
            tls: TLSMode = .verifyFull(caFile: nil)
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.database = database
            self.password = password
            self.tls = tls
        }

        /// Parses `postgres://USER@HOST[:PORT]/DB[?sslmode=disable|require|verify-full&sslrootcert=PATH]`
        /// (`postgresql://` too). A URL holding a password is refused (`invalid-input`, without echoing it): the
        /// password comes from a file and is passed as `password`.
        public init(url: String, password: String?) throws {
            let scheme: String
            if url.hasPrefix("postgres://") {
                scheme = "postgres://"
            } else if url.hasPrefix("postgresql://") {
                scheme = "postgresql://"
            } else {
                throw LedgerError.invalidInput("ledger URL: must start with postgres:// or postgresql://")
            }
            var rest = Substring(url.dropFirst(scheme.count))
            var queryText: Substring?
            if let mark = rest.firstIndex(of: "?") {
                queryText = rest[rest.index(after: mark)...]
                rest = rest[..<mark]
            }
            guard let slash = rest.firstIndex(of: "/") else {
                throw LedgerError.invalidInput("ledger URL: no database (postgres://USER@HOST:PORT/DB)")
            }
            let authority = rest[..<slash]
            let databaseText = rest[rest.index(after: slash)...]
            // The user info ends at the LAST '@' (a password may hold one); anything with ':' in it carries a password.
            guard let at = authority.lastIndex(of: "@") else {
                throw LedgerError.invalidInput("ledger URL: no user (postgres://USER@HOST:PORT/DB)")
            }
            let userInfo = authority[..<at]
            if userInfo.contains(":") {
                throw LedgerError.invalidInput(
                    "ledger URL: a password in the URL is refused; put it in the ledger password file")
            }
            let hostPort = authority[authority.index(after: at)...]
            guard let user = Self.decode(userInfo), !user.isEmpty else {
                throw LedgerError.invalidInput("ledger URL: no user (postgres://USER@HOST:PORT/DB)")
            }
            let (host, port) = try Self.parseHostPort(hostPort)
            guard let database = Self.decode(databaseText), !database.isEmpty, !database.contains("/") else {
                throw LedgerError.invalidInput("ledger URL: no database (postgres://USER@HOST:PORT/DB)")
            }
            var sslMode: String?
            var rootCert: String?
            for pair in (queryText ?? "").split(separator: "&") where !pair.isEmpty {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0])
                let value = parts.count > 1 ? Self.decode(parts[1]) : nil
                switch name {
                case "sslmode": sslMode = value
                case "sslrootcert": rootCert = value
                case "password":
                    throw LedgerError.invalidInput(
                        "ledger URL: a password in the URL is refused; put it in the ledger password file")
                default:
                    throw LedgerError.invalidInput("ledger URL: unknown parameter \(Self.safeName(name))")
                }
            }
            let tls: TLSMode
            switch sslMode {
            case nil: tls = Self.isLoopback(host) && rootCert == nil ? .disable : .verifyFull(caFile: rootCert)
            case "disable": tls = .disable
            case "require": tls = .require
            case "verify-full": tls = .verifyFull(caFile: rootCert)
            default:
                throw LedgerError.invalidInput("ledger URL: sslmode must be disable, require or verify-full")
            }
            if rootCert != nil {
                guard case .verifyFull = tls else {
                    throw LedgerError.invalidInput("ledger URL: sslrootcert needs sslmode=verify-full")
                }
            }
            self.init(host: host, port: port, username: user, database: database, password: password, tls: tls)
        }

        /// The URL without any password, for `location`, logs and status.
        public var redactedURL: String {
            let hostPart = host.contains(":") ? "[\(host)]" : host
            var url = "postgres://\(Self.encode(username))@\(hostPart):\(port)/\(Self.encode(database))"
            switch tls {
            case .disable: url += "?sslmode=disable"
            case .require: url += "?sslmode=require"
            case .verifyFull(let caFile):
                url += "?sslmode=verify-full"
                if let caFile { url += "&sslrootcert=\(Self.encode(caFile))" }
            }
            return url
        }

        /// `host:port`, for error details.
        package var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        public var description: String { redactedURL }
        public var debugDescription: String { redactedURL }

        // MARK: - Parsing helpers

        private static func parseHostPort(_ text: Substring) throws -> (String, Int) {
            var host: Substring
            var portText: Substring?
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else {
                    throw LedgerError.invalidInput("ledger URL: unterminated IPv6 address")
                }
                host = text[text.index(after: text.startIndex)..<close]
                let after = text[text.index(after: close)...]
                if after.hasPrefix(":") {
                    portText = after.dropFirst()
                } else if !after.isEmpty {
                    throw LedgerError.invalidInput("ledger URL: bad host")
                }
            } else if let colon = text.firstIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = text
            }
            guard !host.isEmpty, let decoded = decode(host) else {
                throw LedgerError.invalidInput("ledger URL: no host (postgres://USER@HOST:PORT/DB)")
            }
            var port = 5432
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw LedgerError.invalidInput("ledger URL: the port must be 1-65535")
                }
                port = value
            }
            return (decoded, port)
        }

        private static func decode(_ text: Substring) -> String? { String(text).removingPercentEncoding }

        private static func encode(_ text: String) -> String {
            var allowed = CharacterSet.urlPathAllowed
            allowed.remove(charactersIn: "@:/?#&=")
            return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
        }

        /// A parameter name echoed in an error only when it is a plain word.
        private static func safeName(_ name: String) -> String {
            name.count <= 32 && name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) ? name : "(not shown)"
        }

        static func isLoopback(_ host: String) -> Bool {
            host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }
}
