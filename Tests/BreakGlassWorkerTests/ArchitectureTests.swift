import Foundation
import Testing

/// The dependency rule (README "Architecture"), checked on the sources: each module imports only the modules of ours
/// listed here, Core does no I/O, and the AMQP transport knows nothing of the domain (issue 14.6).
@Suite("Architecture: the dependency rule")
struct ArchitectureTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// Module → the modules of ours it may import.
    static let allowed: [String: Set<String>] = [
        "BreakGlassCore": [],
        "BreakGlassAMQP": [],
        "BreakGlassSimulator": [],
        "BreakGlassLedger": ["BreakGlassCore"],
        // The shared ledger's second backend: the seam it implements, nothing else of ours.
        "BreakGlassLedgerPostgres": ["BreakGlassCore", "BreakGlassLedger"],
        "BreakGlassLiveSources": ["BreakGlassCore"],
        "BreakGlassEvidence": ["BreakGlassCore"],
        "BreakGlassConsole": ["BreakGlassCore", "BreakGlassEvidence"],
        "BreakGlassFuzz": ["BreakGlassCore"],
        "BreakGlassWorker": [
            "BreakGlassCore", "BreakGlassAMQP", "BreakGlassLedger", "BreakGlassLedgerPostgres", "BreakGlassLiveSources",
            "BreakGlassEvidence", "BreakGlassConsole",
        ],
        // The product: no simulator, no benchmark, no drill.
        "breakglass": [
            "BreakGlassCore", "BreakGlassAMQP", "BreakGlassLedger", "BreakGlassLiveSources", "BreakGlassEvidence",
            "BreakGlassConsole", "BreakGlassWorker",
        ],
        // The lab: the simulator, the benchmarks and the ledger drills.
        "breakglass-lab": [
            "BreakGlassCore", "BreakGlassLedger", "BreakGlassLedgerPostgres", "BreakGlassLiveSources",
            "BreakGlassSimulator",
        ],
    ]

    static func files(of module: String) throws -> [(name: String, text: String)] {
        let folder = sources.appendingPathComponent(module)
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            return []
        }
        var found: [(String, String)] = []
        for case let file as URL in walker where file.pathExtension == "swift" {
            found.append((file.lastPathComponent, try String(contentsOf: file, encoding: .utf8)))
        }
        return found
    }

    static func ourImports(_ text: String) -> Set<String> {
        var modules = Set<String>()
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                words[..<index].allSatisfy({
                    ["public", "internal", "package", "@_exported", "@testable"].contains($0)
                })
            else { continue }
            let module = String(words[index + 1])
            if module.hasPrefix("BreakGlass") || module == "breakglass" { modules.insert(module) }
        }
        return modules
    }

    @Test(arguments: allowed.keys.sorted())
    func aModuleImportsOnlyWhatTheRuleAllows(_ module: String) throws {
        let files = try Self.files(of: module)
        #expect(!files.isEmpty, "no sources for \(module)")
        for file in files {
            let extra = Self.ourImports(file.text).subtracting(Self.allowed[module]!)
            #expect(extra.isEmpty, "\(module)/\(file.name) imports \(extra.sorted())")
        }
    }

    @Test func coreDoesNoIO() throws {
        let forbidden = [
            "FileManager", "contentsOf:", "contentsOfFile:", "fopen(", "write(to:", "URLSession", "Process(",
        ]
        for file in try Self.files(of: "BreakGlassCore") {
            for word in forbidden {
                #expect(!file.text.contains(word), "BreakGlassCore/\(file.name) uses \(word)")
            }
        }
    }

    /// Issue 14.4: the product binary registers no lab command (they live in `breakglass-lab`).
    @Test func theProductBinaryCarriesNoLabCommand() throws {
        let registry = try String(
            contentsOf: Self.sources.appendingPathComponent("breakglass/BreakGlassCommand+Subcommands.swift"),
            encoding: .utf8)
        for lab in ["SimCommand", "BenchLedgerCommand", "BenchGateCommand", "LedgerStressCommand"] {
            #expect(!registry.contains(lab), "breakglass registers \(lab)")
            #expect(try Self.files(of: "breakglass").allSatisfy { !$0.text.contains("struct \(lab)") })
            #expect(try Self.files(of: "breakglass-lab").contains { $0.text.contains("struct \(lab)") })
        }
    }
}
