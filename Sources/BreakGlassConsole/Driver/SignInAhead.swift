import BreakGlassEvidence
public import Foundation

/// A browser session signed in to the console ahead of any request (issue 21.3): the map's first flow screen (the
/// sign-in) done while the session sat idle in the pool, with what it recorded, so that a request's flow starts at
/// the second screen. Only the service account's credentials and literals are entered ahead: nothing of a request.
///
/// A request that gets such a session reloads the page first and goes on only when the console still shows the
/// second screen; a session the console ended meanwhile is signed in again from the start, before any field of the
/// request is filled, never mid-flow.
public struct SignInAhead: Sendable {
    /// The sign-in's steps and masked screenshot, adopted into the request's bundle.
    let recorder: EvidenceRecorder
    /// The masked values entered on the sign-in screen (the username; the password never).
    let entered: [String: String]
    /// The screen done ahead (`map.flow[0]`).
    public let screen: String
    /// When it was done (wall clock, for the record) and since when (monotonic, for its age).
    public let signedInAt: Date
    let since: ContinuousClock.Instant

    /// How long ago the sign-in was done.
    public var age: Duration { ContinuousClock.now - since }
}
