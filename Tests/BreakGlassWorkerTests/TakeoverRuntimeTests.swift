import BreakGlassWorker
import Foundation
import Testing

@Suite("Takeover command owner id")
struct TakeoverRuntimeTests {
    @Test("every takeover command run has its own owner id: worker id, pid and a random part")
    func ownerIDIsUniquePerRun() {
        let pid = ProcessInfo.processInfo.processIdentifier
        let ids = (0..<20).map { _ in TakeoverRuntime.ownerID(workerID: "worker-a") }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.hasPrefix("takeover-worker-a-\(pid)-"))
            let nonce = id.dropFirst("takeover-worker-a-\(pid)-".count)
            #expect(nonce.count == 8 && nonce.allSatisfy(\.isHexDigit), "\(id)")
        }
        #expect(TakeoverRuntime.ownerID(workerID: "w", pid: 77).hasPrefix("takeover-w-77-"))
    }
}
