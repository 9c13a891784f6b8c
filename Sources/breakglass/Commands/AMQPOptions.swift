import ArgumentParser
import BreakGlassAMQP
import Foundation

/// Broker connection options shared by the AMQP subcommands (`topology`, `enqueue`).
struct AMQPOptions: ParsableArguments {
    @Option(name: .long, help: "Broker URL amqp[s]://user:password@host:port/vhost (default: $AMQP_URL).")
    var url: String?

    @Option(name: .long, help: "CA file (PEM) for amqps:// URLs.")
    var caFile: String?

    @Option(name: .long, help: "Client certificate (PEM) for amqps:// mutual TLS.")
    var certFile: String?

    @Option(name: .long, help: "Client private key (PEM) for --cert-file.")
    var keyFile: String?

    func configuration() throws -> AMQPConnection.Configuration {
        guard let text = url ?? ProcessInfo.processInfo.environment["AMQP_URL"], !text.isEmpty else {
            throw ValidationError("no broker URL: pass --url or set AMQP_URL")
        }
        var configuration: AMQPConnection.Configuration
        do {
            configuration = try AMQPConnection.Configuration(url: text)
        } catch let error as AMQPError {
            throw ValidationError("invalid --url: \(error.reason ?? error.description)")
        }
        configuration.tls = .init(caFile: caFile, certificateFile: certFile, keyFile: keyFile)
        configuration.connectionName = "breakglass-cli"
        do {
            try configuration.validate()
        } catch let error as AMQPError {
            throw ValidationError(error.reason ?? error.description)
        }
        return configuration
    }
}

/// A runtime failure of an AMQP subcommand: printed as "Error: ..." without the usage text.
struct AMQPCommandError: Error, CustomStringConvertible {
    let description: String
}

extension AMQPError {
    /// A one-line explanation for the terminal (code, broker reply code and text; never a password).
    var terminalMessage: String {
        var parts = ["AMQP \(code.rawValue)"]
        if let replyCode { parts.append("reply \(replyCode)") }
        if let reason { parts.append(reason) }
        return parts.joined(separator: ": ")
    }
}
