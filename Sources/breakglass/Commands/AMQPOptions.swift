import ArgumentParser
import BreakGlassAMQP
import BreakGlassWorker
import Foundation

/// Broker connection options shared by the AMQP subcommands (`topology`, `enqueue`).
///
/// Configured like the worker: `--config FILE`, `BREAKGLASS_*` variables and `--set key=value` (`amqp.url`,
/// `amqp.password_file`, `amqp.tls.*`, the topology names), so a command run beside a worker reaches the same broker
/// with the same secrets. The password never needs the command line: `amqp.password_file` or `--password-file`.
/// `--url` and the older `$AMQP_URL` still work (`--url` first, then the configuration, then `$AMQP_URL`).
struct AMQPOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Broker URL amqp[s]://user@host:port/vhost (default: amqp.url from --config or $BREAKGLASS_AMQP_URL, else $AMQP_URL)."
    )
    var url: String?

    @Option(name: .long, help: "File holding the broker password (default: amqp.password_file).")
    var passwordFile: String?

    @Option(name: .long, help: "CA file (PEM) for amqps:// URLs (default: amqp.tls.ca_file).")
    var caFile: String?

    @Option(name: .long, help: "Client certificate (PEM) for amqps:// mutual TLS.")
    var certFile: String?

    @Option(name: .long, help: "Client private key (PEM) for --cert-file.")
    var keyFile: String?

    @OptionGroup var options: ConfigOptions

    /// The loaded configuration (file, environment, `--set`).
    func values() async throws -> ConfigurationValues { try await options.load() }

    func configuration() async throws -> AMQPConnection.Configuration {
        let values = try await values()
        var configuration: AMQPConnection.Configuration
        do {
            configuration = try values.amqpConfiguration()
            let legacy = ProcessInfo.processInfo.environment["AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 }
            if let text = url ?? (values.isSet(Config.amqpURL) ? nil : legacy) {
                var parsed = try AMQPURL(parsing: text)
                if values.isSet(Config.amqpPasswordFile) {
                    parsed.password = configuration.url.password
                }
                configuration.url = parsed
            }
        } catch let error as AMQPError {
            throw ValidationError("invalid broker URL: \(error.reason ?? error.description)")
        } catch {
            throw ValidationError("\(error)")
        }
        if let passwordFile {
            guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ValidationError("--password-file \(passwordFile): cannot read the file")
            }
            configuration.url.password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // The CLI declares explicitly (`topology declare`, `enqueue --declare`), never on connect.
        configuration.topology = []
        if caFile != nil || certFile != nil || keyFile != nil {
            configuration.tls = .init(
                caFile: caFile ?? configuration.tls.caFile,
                certificateFile: certFile ?? configuration.tls.certificateFile,
                keyFile: keyFile ?? configuration.tls.keyFile)
        }
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
