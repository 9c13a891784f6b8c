import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Keeps other local users off the managed chromedriver's port (issue 16.1): an nftables rule that rejects every
/// TCP connection to the port whose socket does not belong to this process's user. Chromium itself opens no
/// DevTools port (`--remote-debugging-pipe`), so with this rule no other local user can reach the worker's browser.
///
/// Installing needs CAP_NET_ADMIN (root) and the `nft` binary. Where either is missing the guard cannot tell
/// whether the port is reachable by others and says so; the deployment must isolate the worker instead (its own
/// container or network namespace, as `docker/compose.yaml` does, or an owner-match rule of its own: see README).
/// A table left behind by a killed worker only rejects other users from a dead port: harmless, reused by port.
public struct DriverPortGuard: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Install the rule when possible; otherwise warn and run.
        case auto
        /// Install the rule or refuse to start.
        case required
        /// Do not install anything (the deployment isolates the worker).
        case off
    }

    public enum Outcome: Sendable, Hashable {
        case installed(table: String)
        /// Why it could not be installed (no secret in it).
        case unavailable(String)
    }

    public let port: Int
    /// The user whose connections stay allowed (this process's by default).
    public let uid: UInt32
    public let nftPath: String

    public init(port: Int, uid: UInt32? = nil, nftPath: String? = nil) {
        self.port = port
        self.uid = uid ?? UInt32(getuid())
        self.nftPath = nftPath ?? DriverPortGuard.findNFT() ?? "/usr/sbin/nft"
    }

    public var table: String { "breakglass_webdriver_\(port)" }

    /// Installs (or replaces) the rule.
    public func install() -> Outcome {
        guard FileManager.default.isExecutableFile(atPath: nftPath) else { return .unavailable("nft is not installed") }
        guard geteuid() == 0 else { return .unavailable("not root: no CAP_NET_ADMIN to install a firewall rule") }
        _ = run(["delete", "table", "inet", table])
        let script = """
            table inet \(table) {
                chain output {
                    type filter hook output priority 0; policy accept;
                    tcp dport \(port) meta skuid != \(uid) reject with tcp reset
                }
            }
            """
        let (status, output) = run(["-f", "-"], input: script)
        guard status == 0 else { return .unavailable("nft refused the rule: \(output.prefix(200))") }
        return .installed(table: table)
    }

    /// Removes the rule (on a graceful stop).
    public func remove() {
        _ = run(["delete", "table", "inet", table])
    }

    public static func findNFT() -> String? {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private func run(_ arguments: [String], input: String? = nil) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nftPath)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try process.run() } catch { return (-1, "cannot run nft") }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
