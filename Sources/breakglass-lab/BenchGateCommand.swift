import ArgumentParser
import BreakGlassCore
import BreakGlassSimulator
import BreakGlassLiveSources
import Foundation
import Logging

/// Hidden benchmark behind `./scripts/bench-gate` (or `./scripts/bench gate`): full gate decisions per second
/// against the simulator's live sources over HTTP, the five sources of each request fetched concurrently, with
/// the latency of each decision (fetch + rules). Writes a JSON report.
struct BenchGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gate",
        abstract: "Gate benchmark against the live sources (used by scripts/bench).",

    )

    @Option(name: .long, help: "Seconds to measure (after the warm-up).") var seconds: Double = 10
    @Option(name: .long, help: "Seconds of warm-up, not measured.") var warmup: Double = 2
    @Option(name: .long, help: "Gate decisions in flight at once (requests handled concurrently).")
    var concurrency: Int = 8
    @Option(name: .long, help: "Distinct cases/tenants served by the simulator.") var cases: Int = 200
    @Option(name: .long, help: "Live sources base URL; default: start the simulator in this process.")
    var url: String?
    @Option(name: .long, help: "Environment variable holding the sources' bearer token (with --url).")
    var tokenEnv: String = "BREAKGLASS_SOURCES_TOKEN"
    @Option(name: .long, help: "Write the JSON report here.") var output: String = "bench/results/gate.json"

    func validate() throws {
        guard seconds > 0, warmup >= 0, concurrency >= 1, cases >= 1 else {
            throw ValidationError("seconds, concurrency and cases must be positive")
        }
    }

    func run() async throws {
        let world = BenchGateWorld(count: cases)
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        if let url {
            let token = try BearerToken.load(file: nil, environmentVariable: tokenEnv)
            try await measure(baseURL: url, token: token, world: world, sources: "external at \(url)")
        } else {
            let apiToken = "bench-\(UUID().uuidString)"
            let simulator = try Simulator(
                configuration: .init(apiToken: apiToken, controlToken: "control-\(UUID().uuidString)"),
                fixtures: world.fixtures.resolved(at: Date()), logger: quiet)
            try await simulator.withRunning { running in
                try await measure(
                    baseURL: running.baseURL, token: Secret(apiToken), world: world,
                    sources: "in-process simulator over loopback HTTP")
            }
        }
    }

    func measure(baseURL: String, token: Secret, world: BenchGateWorld, sources: String) async throws {
        let client = try LiveSourcesClient(
            configuration: .init(baseURL: baseURL, token: token, maximumConnections: max(64, concurrency * 5)),
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        let policy = GatePolicy()
        let requests = world.requests
        print(
            "gate bench: \(sources), concurrency \(concurrency), \(requests.count) cases, warm-up \(warmup) s, measuring \(seconds) s"
        )

        _ = try await lanes(client, requests, policy, seconds: warmup)
        let start = ContinuousClock.now
        let results = try await lanes(client, requests, policy, seconds: seconds)
        let elapsed = (ContinuousClock.now - start).seconds
        try await client.shutdown()

        let latencies = results.flatMap(\.latencies).sorted()
        let passed = results.reduce(0) { $0 + $1.passed }
        let failed = latencies.count - passed
        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            let index = min(latencies.count - 1, Int((p * Double(latencies.count)).rounded(.up)) - 1)
            return latencies[max(0, index)] * 1000
        }
        let rate = Double(latencies.count) / elapsed
        let report: [String: Any] = [
            "bench": "gate",
            "build": Self.buildKind,
            "measured_at": Timestamp.format(Date()),
            "sources": sources,
            "concurrency": concurrency,
            "cases": requests.count,
            "duration_s": Self.round(elapsed, 3),
            "decisions": latencies.count,
            "passed": passed,
            "failed": failed,
            "http_requests_per_decision": 5,
            "rates": ["decisions_per_s": Self.round(rate, 1), "source_requests_per_s": Self.round(rate * 5, 1)],
            "latency_ms": [
                "p50": Self.round(percentile(0.50), 3), "p90": Self.round(percentile(0.90), 3),
                "p99": Self.round(percentile(0.99), 3), "max": Self.round((latencies.last ?? 0) * 1000, 3),
            ],
            "targets": ["decisions_per_s": 500, "p99_ms": 50],
            "met": rate >= 500 && percentile(0.99) <= 50,
            "cpus": ProcessInfo.processInfo.activeProcessorCount,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        let outputURL = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(
            at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: outputURL, options: .atomic)
        print(String(decoding: data, as: UTF8.self))
        if failed > 0 {
            throw ValidationError("\(failed) gate decisions did not pass; the bench world should pass every time")
        }
    }

    struct LaneResult: Sendable {
        var latencies: [Double] = []
        var passed = 0
    }

    /// `concurrency` lanes, each running gate decisions back to back until `seconds` have passed.
    func lanes(
        _ client: LiveSourcesClient, _ requests: [RestorationRequest], _ policy: GatePolicy, seconds: Double
    ) async throws -> [LaneResult] {
        guard seconds > 0 else { return [] }
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let lanes = concurrency
        return await withTaskGroup(of: LaneResult.self) { group in
            for lane in 0..<lanes {
                group.addTask {
                    var result = LaneResult()
                    result.latencies.reserveCapacity(4096)
                    var index = lane
                    while ContinuousClock.now < end {
                        let request = requests[index % requests.count]
                        index += lanes
                        let started = ContinuousClock.now
                        let (decision, _) = await client.gate(request, policy: policy)
                        result.latencies.append((ContinuousClock.now - started).seconds)
                        if decision.passed { result.passed += 1 }
                    }
                    return result
                }
            }
            var all: [LaneResult] = []
            for await result in group { all.append(result) }
            return all
        }
    }

    static func round(_ value: Double, _ digits: Int) -> Double {
        let factor = pow(10, Double(digits))
        return (value * factor).rounded() / factor
    }

    static var buildKind: String {
        #if DEBUG
            "debug"
        #else
            "release"
        #endif
    }
}

extension Duration {
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
