import Logging
import ArgumentParser
import Foundation

/// A runtime failure of a command, with its documented exit status (README, "Exit statuses"). Printed as one
/// `Error: ...` line on standard error, never with the usage text (that is for mistakes in the command line, 64).
struct CommandFailure: Error, CustomStringConvertible {
    enum Kind: Sendable {
        /// The command could not do its work (broker, ledger, I/O, a console failure): 1.
        case failed
        /// What the command names does not exist (a ledger file, a restoration, a takeover): 66 (sysexits EX_NOINPUT).
        case notFound
        /// The configuration cannot be used (a key, a file it names, a value): 78 (sysexits EX_CONFIG).
        case configuration

        var exitStatus: Int32 {
            switch self {
            case .failed: 1
            case .notFound: 66
            case .configuration: 78
            }
        }
    }

    let kind: Kind
    let description: String

    init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

extension CommandFailure {
    /// The logger a reading command opens the ledger with: warnings and errors only (a command's output is its
    /// answer, not the ledger's lifecycle).
    static var quietLogger: Logger {
        var logger = Logger(label: "breakglass.ledger")
        logger.logLevel = .warning
        return logger
    }
}
