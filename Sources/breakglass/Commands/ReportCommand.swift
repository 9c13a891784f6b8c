import ArgumentParser
import BreakGlassConsole
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging
import BreakGlassEvidence

/// `breakglass report`: the governance figures from the ledger and the evidence store (docs/REPORT.md).
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Governance figures: outcomes, clean grants, anomalies caught, takeover records, evidence, timings.",
        discussion: """
            Reads the ledger (ledger.path) and the evidence store (evidence.dir) of the same configuration as \
            `breakglass run`; verifies every grant's evidence bundle with the trusted evidence key (--public-key, \
            else evidence.public_key_file, else the public half of evidence.key_file; refuses to run with none: a key \
            beside the evidence or embedded in a seal proves nothing). Read-only. The JSON form is stable \
            (format breakglass.report/v1, documented in docs/REPORT.md).
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, csv
    }

    @OptionGroup var options: ConfigOptions
    @Option(
        name: .long, help: "Only requests first seen at or after DATE (RFC 3339, YYYY-MM-DD, or an age: 7d, 24h, 30m).")
    var since: String?
    @Option(name: .long, help: "table, json or csv.") var format: Format = .table
    @Option(
        name: .long, help: "Evidence public key file (base64 or trusted-keys JSON); default: from the configuration.")
    var publicKey: String?
    @Flag(
        name: .long,
        help:
            "One row per request key (approvals, rechecks, outcome, confirmation, expiry, revocation, resumes, evidence and whether it verifies), as csv or json (docs/REPORT.md)."
    )
    var perRequest = false

    func run() async throws {
        let values = try await options.load()
        let now = Date()
        let sinceDate = try since.map { text -> Date in
            if let date = Timestamp.parse(text) { return date }
            if let date = Timestamp.parse(text + "T00:00:00Z") { return date }
            if let age = LedgerFormat.parseAge(text) { return now.addingTimeInterval(-age) }
            throw ValidationError("--since: expected RFC 3339, YYYY-MM-DD or an age like 7d")
        }
        if let path = values.sqliteLedgerPath, !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure(.notFound, "no ledger at \(path) (ledger.path)")
        }
        let ledger: any Ledger
        do { ledger = try await values.openLedger(logger: CommandFailure.quietLogger) } catch let error
            as LedgerError
        {
            throw CommandFailure(
                .failed,
                "cannot open the ledger \(values.ledgerDescription): \(error.code.rawValue) \(error.detail ?? "")")
        }
        let configured: Data?
        do {
            configured =
                try publicKey.map { try EvidenceVerifier.readPublicKey(file: URL(fileURLWithPath: $0)) }
                ?? GovernanceReportSource.evidencePublicKey(values)
        } catch {
            throw ValidationError("cannot read the evidence public key: \(error)")
        }
        // Issue 16.3: no fallback to a key beside the evidence or embedded in the seals.
        guard let key = configured else {
            throw ValidationError(
                "a trusted evidence public key is required: --public-key FILE or evidence.public_key_file "
                    + "(kept apart from evidence.dir); the key embedded in a seal proves nothing about who sealed a bundle"
            )
        }
        let source = GovernanceReportSource(
            ledger: ledger, evidenceRoot: URL(fileURLWithPath: values[Config.evidenceDir]),
            trustedPublicKey: key)
        if perRequest {
            let export = try await source.auditExport(since: sinceDate, now: now)
            switch format {
            case .csv: print(export.csv(), terminator: "")
            case .json, .table: FileHandle.standardOutput.write(export.json())
            }
            return
        }
        let report = GovernanceReport.compute(try await source.input(since: sinceDate, now: now))
        switch format {
        case .json: FileHandle.standardOutput.write(report.json())
        case .csv: print(report.csv(), terminator: "")
        case .table:
            print(report.table(), terminator: "")
        }
    }
}
