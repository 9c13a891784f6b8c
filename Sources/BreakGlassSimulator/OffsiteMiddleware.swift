import Hummingbird

/// Records what reaches the console's paths on the off-site origin (`localhost`, where the
/// `offsite_redirect_at_screen` fault sends the browser): every request is counted; a POST (a form the browser
/// submitted there: the login password, an entered value, the final click) is counted with its field names (never
/// their values) and swallowed. GETs are served as on the real origin, so the browser sees a faithful copy of the
/// console (a phishing console) and only the worker's origin pinning stands between it and the copy.
struct OffsiteMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: SimulatorState

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Simulator.isOffsite(request), request.uri.path.hasPrefix("/console") else {
            return try await next(request, context)
        }
        guard request.method == .post else {
            await state.recordOffsite(post: false, fields: [])
            return try await next(request, context)
        }
        let form = await Simulator.readForm(request)
        await state.recordOffsite(post: true, fields: form?.names ?? [])
        return SimulatorResponse.html("<!doctype html><title>Received</title><p>Received.</p>")
    }
}
