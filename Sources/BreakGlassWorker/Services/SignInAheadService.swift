import BreakGlassConsole
import Logging
import ServiceLifecycle

/// Signs idle browser sessions in to the console ahead of requests (issue 21.3, `console.sign_in_ahead`): each time
/// a session is given back to the pool, the idle sessions not yet signed in are signed in, one at a time, unless a
/// request is waiting for a session (requests come first). Stops at graceful shutdown; a sign-in under way then
/// finishes or fails on the pool's close. It returns only once its own graceful shutdown has begun: the pool closing
/// first ends `releases`, and a service of a `ServiceGroup` that returns before its turn fails the whole group (the
/// worker then exited 1 on SIGTERM, found by the compose test).
struct SignInAheadService: Service, CustomStringConvertible {
    let driver: ConsoleDriver
    let logger: Logger
    var metrics = WorkerMetrics()

    /// What `ServiceGroup` names it by in its errors (the derived one printed the whole console map).
    var description: String { "SignInAheadService" }

    func run() async {
        let pool = driver.pool
        logger.debug("sign-in ahead started")
        await cancelWhenGracefulShutdown {
            for await _ in pool.releases {
                while !Task.isCancelled, let session = await pool.takeForSigningIn() {
                    let (signedIn, healthy) = await driver.signInAhead(session)
                    await pool.returnSignedIn(session, signedIn: signedIn, healthy: healthy)
                    if signedIn != nil { metrics.signedInAhead() }
                    logger.debug(
                        "browser session signed in ahead",
                        metadata: ["breakglass.signed_in": "\(signedIn != nil)", "breakglass.healthy": "\(healthy)"])
                }
            }
        }
        try? await gracefulShutdown()
        logger.debug("sign-in ahead stopped")
    }
}
