import BreakGlassLedger
package import Foundation
import Synchronization

/// The PostgreSQL server's clock, told locally (issue 17): leases are judged by the server's `clock_timestamp()`,
/// never by a worker's wall clock.
///
/// Anchoring: take `t0 = ContinuousClock.now`, run `SELECT extract(epoch from clock_timestamp())` → `s`, take
/// `t1 = ContinuousClock.now`. The server read `s` at some instant between `t0` and `t1`, so the server's clock at a
/// later local instant `T` is at most `s + (T − t0)`: the estimate `now() = s + (ContinuousClock.now − t0)` is never
/// behind the server (it is ahead by at most the round trip `t1 − t0`). A lease therefore looks shorter to the
/// worker than it is, never longer. `open` keeps the best of three samples (the smallest round trip).
///
/// The writes read the server's clock in their transactions anyway (every lease decision is taken there, by the
/// server); each such read is offered to `observe`, which re-anchors on it when its round trip is no worse than twice
/// the best seen, so the estimate follows the server's clock (NTP steps, drift of the local monotonic clock) without
/// ever taking a loose sample.
package final class DatabaseClock: Sendable {
    package struct Anchor: Sendable, Hashable {
        /// The server's clock, seconds since 1970.
        package var server: Double
        /// The local instant the sample's round trip started.
        package var sentAt: ContinuousClock.Instant
        /// The sample's round trip.
        package var roundTrip: Duration
    }

    private struct State {
        var anchor: Anchor
        var bestRoundTrip: Duration
    }

    private let state: Mutex<State>

    package init(anchor: Anchor) {
        state = Mutex(State(anchor: anchor, bestRoundTrip: anchor.roundTrip))
    }

    /// The current anchor (for tests and `ledger stats`).
    package var anchor: Anchor { state.withLock { $0.anchor } }

    /// Now, by the server's clock, never behind it.
    package func now() -> Date {
        let anchor = state.withLock { $0.anchor }
        return Date(timeIntervalSince1970: anchor.server + anchor.sentAt.duration(to: .now).ledgerSeconds)
    }

    /// Offers a server clock read taken by a round trip that started at `sentAt` and ended at `receivedAt`.
    package func observe(server: Double, sentAt: ContinuousClock.Instant, receivedAt: ContinuousClock.Instant) {
        let roundTrip = sentAt.duration(to: receivedAt)
        state.withLock { state in
            if roundTrip < state.bestRoundTrip { state.bestRoundTrip = roundTrip }
            guard roundTrip <= state.bestRoundTrip * 2 else { return }
            state.anchor = Anchor(server: server, sentAt: sentAt, roundTrip: roundTrip)
        }
    }

    /// The best (smallest round trip) of several samples; nil when `samples` is empty.
    package static func best(of samples: [Anchor]) -> Anchor? {
        samples.min { $0.roundTrip < $1.roundTrip }
    }
}
