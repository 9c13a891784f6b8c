import Hummingbird

/// Refuses a request without `Authorization: Bearer <token>` matching the expected token (401, constant-time
/// comparison). The token never appears in logs or answers.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    let realm: String

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            SimulatorRandom.constantTimeEquals(String(header.dropFirst("Bearer ".count)), token)
        else {
            var response = SimulatorResponse.error(.unauthorized, "unauthorized", "missing or wrong bearer token")
            response.headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\""
            return response
        }
        return try await next(request, context)
    }
}
