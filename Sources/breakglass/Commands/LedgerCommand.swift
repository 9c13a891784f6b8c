import ArgumentParser
import BreakGlassCore
import BreakGlassLedger
import BreakGlassWorker
import Foundation
import Logging

/// `breakglass ledger list|show|stats|prune`: read the worker's ledger (and apply retention).
struct LedgerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Inspect the restoration ledger (an SQLite file or the PostgreSQL database the workers share).",
        subcommands: [List.self, Show.self, Stats.self, Prune.self]
    )

    /// The `--ledger` option shared by the ledger and takeover commands. Without it, the ledger is the worker's:
    /// `ledger.url` or `ledger.path` from `--config` or `$BREAKGLASS_LEDGER_URL` / `$BREAKGLASS_LEDGER_PATH` (the keys
    /// `breakglass run` reads), then the older `$LEDGER_PATH`, then run/ledger.sqlite. A PostgreSQL ledger's password
    /// comes from `ledger.password_file`.
    struct Location: ParsableArguments {
        @Option(
            name: .long,
            help: """
                The ledger: a file path, sqlite:PATH or postgres://USER@HOST:PORT/DB (default: ledger.url or \
                ledger.path from --config or the environment, else run/ledger.sqlite).
                """
        )
        var ledger: String?

        @Option(name: .long, help: "The worker's YAML configuration file (its ledger.url or ledger.path is used).")
        var config: String?

        /// The configuration with `--ledger` applied.
        func values() async throws -> ConfigurationValues {
            var overrides: [String: String] = [:]
            if let ledger {
                if ledger.hasPrefix("postgres://") || ledger.hasPrefix("postgresql://") || ledger.hasPrefix("sqlite:") {
                    overrides[Config.ledgerURL.name] = ledger
                } else {
                    overrides[Config.ledgerURL.name] = "sqlite:" + ledger
                }
            }
            do {
                var values = try await ConfigurationLoader(file: config, overrides: overrides).load()
                if ledger == nil, !values.isSet(Config.ledgerPath), values[Config.ledgerURL] == nil,
                    let legacy = ProcessInfo.processInfo.environment["LEDGER_PATH"], !legacy.isEmpty
                {
                    values = try await ConfigurationLoader(
                        file: config, overrides: [Config.ledgerURL.name: "sqlite:" + legacy]
                    ).load()
                }
                return values
            } catch {
                throw ValidationError(error.description)
            }
        }

        /// Opens an existing ledger; reading commands never create an SQLite file by accident.
        func open() async throws -> any Ledger {
            let values = try await values()
            let location: ConfigurationValues.LedgerLocation
            do { location = try values.ledgerLocation() } catch { throw ValidationError(error.description) }
            if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
                throw CommandFailure(.notFound, "no ledger at \(path) (use --ledger PATH or --config FILE)")
            }
            do {
                return try await values.openLedger(logger: CommandFailure.quietLogger)
            } catch let error as LedgerError {
                throw CommandFailure(
                    .failed,
                    "cannot open the ledger \(values.ledgerDescription): \(error.code.rawValue) \(error.detail ?? "")")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List restorations, most recently changed first.")

        @OptionGroup var location: Location
        @Option(
            name: .long,
            help: "Only this state (received, claimed, gate-passed, submitting, granted, halted, rejected, resolved).")
        var state: String?
        @Option(name: .long, help: "At most this many rows.") var limit: Int = 50
        @Flag(name: .long, help: "One JSON object per line instead of a table.") var json = false

        func run() async throws {
            var filter: RestorationState?
            if let state {
                guard let parsed = RestorationState(rawValue: state) else {
                    throw ValidationError("unknown state \(state)")
                }
                filter = parsed
            }
            let ledger = try await location.open()
            let entries = try await ledger.entries(state: filter, limit: limit)
            if json {
                for entry in entries {
                    LedgerFormat.printJSON([
                        "case_id": entry.key.caseID, "tenant_id": entry.key.tenantID, "state": entry.state.rawValue,
                        "revocation": entry.revocation?.rawValue, "epoch": entry.epoch, "owner": entry.owner,
                        "request_id": entry.requestID, "confirmation_id": entry.confirmationID,
                        "updated_at": LedgerFormat.time(entry.updatedAt),
                    ])
                }
                return
            }
            print(
                LedgerFormat.table(
                    ["KEY", "STATE", "EPOCH", "OWNER", "REQUEST", "CONFIRMATION", "UPDATED"],
                    entries.map { entry in
                        [
                            entry.key.description,
                            entry.state.rawValue + (entry.revocation.map { " (\($0.rawValue))" } ?? ""),
                            "\(entry.epoch)", entry.owner ?? "-", entry.requestID, entry.confirmationID ?? "-",
                            LedgerFormat.time(entry.updatedAt),
                        ]
                    }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one restoration: state, claim, request ids, takeovers, events.")

        @OptionGroup var location: Location
        @Argument(help: "CASE/TENANT") var key: String

        func run() async throws {
            guard let key = RestorationKey(parsing: key) else { throw ValidationError("expected CASE/TENANT") }
            let ledger = try await location.open()
            guard let entry = try await ledger.entry(for: key) else {
                throw CommandFailure(.notFound, "no restoration for \(key) in the ledger")
            }
            print(LedgerFormat.describe(entry))
            print("request ids:")
            for sighting in try await ledger.requestSightings(for: key) {
                print(
                    "  \(sighting.requestID)  seen \(sighting.count)×  first \(LedgerFormat.time(sighting.firstSeenAt))  last \(LedgerFormat.time(sighting.lastSeenAt))"
                )
            }
            let takeovers = try await ledger.takeovers(for: key, limit: 100)
            if !takeovers.isEmpty {
                print("takeovers:")
                for takeover in takeovers.reversed() { print(LedgerFormat.describe(takeover, indent: "  ")) }
            }
            print("events:")
            for event in try await ledger.events(for: key) {
                let status = event.publishedAt.map { "published \(LedgerFormat.time($0))" } ?? "PENDING"
                print(
                    "  #\(event.sequence) \(event.message.routingKey) id=\(event.message.eventID) \(status) attempts=\(event.attempts)"
                )
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts by state, open takeovers, outbox backlog, durability.")

        @OptionGroup var location: Location

        func run() async throws {
            let ledger = try await location.open()
            let stats = try await ledger.stats()
            for state in RestorationState.allCases {
                print(LedgerFormat.row([state.rawValue, "\(stats.byState[state] ?? 0)"]))
            }
            print(LedgerFormat.row(["in-flight-expired", "\(stats.inFlightExpired)"]))
            print(LedgerFormat.row(["open-takeovers", "\(stats.openTakeovers)"]))
            print(LedgerFormat.row(["revoked", "\(stats.revoked)"]))
            print(LedgerFormat.row(["events-pending", "\(stats.pendingEvents)"]))
            print(LedgerFormat.row(["events-published", "\(stats.publishedEvents)"]))
            print(LedgerFormat.row(["request-ids-seen", "\(stats.requestSightings)"]))
            print(LedgerFormat.row(["journal-mode", stats.journalMode]))
            print(
                LedgerFormat.row(["synchronous", stats.synchronous == 2 ? "FULL" : "\(stats.synchronous) (NOT FULL)"]))
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete published events of keys decided for good before the cutoff.",
            discussion: """
                Restoration rows, request ids and takeover records are kept forever (deduplication must outlive
                any redelivery); nothing of an undecided or halted key is touched; pending events are never deleted.
                """)

        @OptionGroup var location: Location
        @Option(name: .long, help: "Age such as 30d, 12h, 90m (days, hours, minutes).") var olderThan: String

        func run() async throws {
            guard let age = LedgerFormat.parseAge(olderThan) else {
                throw ValidationError("--older-than expects a number followed by d, h or m, e.g. 30d")
            }
            let ledger = try await location.open()
            let result = try await ledger.prune(olderThan: Date().addingTimeInterval(-age))
            print("deleted \(result.deletedEvents) published events; \(result.keptPendingEvents) pending events kept")
        }
    }
}

/// Plain-text formatting shared by the ledger and takeover commands.
enum LedgerFormat {
    static func row(_ columns: [String]) -> String {
        let widths = [22, 14, 6, 14, 18, 14, 24]
        return columns.enumerated().map { index, column in
            index < widths.count - 1 && index < columns.count - 1
                ? column.padding(toLength: max(widths[index], column.count), withPad: " ", startingAt: 0) : column
        }.joined(separator: " ")
    }

    /// A table whose columns are as wide as their widest cell (the last column is not padded).
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in
            all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0
        }
        return all.map { row in
            row.enumerated().map { index, cell in
                index < row.count - 1 ? cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) : cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// One JSON object on one line (keys sorted; nil values as null).
    static func printJSON(_ object: [String: Any?]) {
        let cleaned = object.mapValues { $0 ?? NSNull() }
        if let data = try? JSONSerialization.data(
            withJSONObject: cleaned, options: [.sortedKeys, .withoutEscapingSlashes])
        {
            print(String(decoding: data, as: UTF8.self))
        }
    }

    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return date.formatted(.iso8601)
    }

    static func parseAge(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Double(text.dropLast()), value >= 0 else { return nil }
        switch unit {
        case "d": return value * 86_400
        case "h": return value * 3_600
        case "m": return value * 60
        default: return nil
        }
    }

    static func describe(_ entry: LedgerEntry) -> String {
        var lines = [
            "key:            \(entry.key)",
            "state:          \(entry.state.rawValue)",
            "epoch:          \(entry.epoch)",
            "owner:          \(entry.owner ?? "-")  lease until \(time(entry.leaseExpiresAt))",
            "request id:     \(entry.requestID)",
            "resumes:        \(entry.resumeCount)",
            "approval refs:  \(entry.approvalRefs.joined(separator: ", "))",
            "rechecks:       \(entry.recheckTimes.map { time($0) }.joined(separator: ", "))",
            "confirmation:   \(entry.confirmationID ?? "-")\(entry.reconciled ? " (by reconciliation)" : "")",
            "grant expires:  \(time(entry.grantExpiresAt))",
            "reasons:        \(entry.reasons.map(\.rawValue).joined(separator: ", "))",
            "escalate:       \(entry.escalate)",
            "in doubt:       \(entry.inDoubt)",
            "takeover:       \(entry.takeoverID ?? "-")",
            "created:        \(time(entry.createdAt))",
            "submitting at:  \(time(entry.submittingAt))",
            "decided:        \(time(entry.decidedAt))",
        ]
        if let revocation = entry.revocation {
            lines.append(
                "revocation:     \(revocation.rawValue) by \(entry.revokedBy ?? "?") at \(time(entry.revokedAt))")
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ takeover: TakeoverEntry, indent: String = "") -> String {
        let record = takeover.record
        var lines = [
            "takeover \(takeover.id)  (\(takeover.key), request \(takeover.requestID), \(time(takeover.createdAt)))",
            "  stage:        \(record.stage.rawValue)   escalate: \(record.escalate)",
            "  reasons:      \(record.reasons.map(\.rawValue).joined(separator: ", "))",
            "  screen:       \(record.screen ?? "-")",
            "  url:          \(record.url ?? "-")",
            "  draft id:     \(record.draftID ?? "-")",
            "  approvals:    \(record.approvalRefs.joined(separator: ", "))",
            "  screenshot:   \(record.lastScreenshotPath ?? "-")",
        ]
        if !record.enteredValues.isEmpty {
            lines.append("  entered (masked):")
            for (field, value) in record.enteredValues.sorted(by: { $0.key < $1.key }) {
                lines.append("    \(field) = \(value)")
            }
        }
        if let note = record.note { lines.append("  note:         \(note)") }
        if let resolution = takeover.resolution {
            lines.append(
                "  resolution:   \(resolution.rawValue) by \(takeover.resolvedBy ?? "?") at \(time(takeover.resolvedAt))"
            )
            if let note = takeover.note { lines.append("  human note:   \(note)") }
        } else {
            lines.append("  resolution:   OPEN")
        }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }
}
