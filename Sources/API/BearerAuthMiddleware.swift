import Hummingbird

/// `http.auth`: every request but `/healthz` carries `Authorization: Bearer TOKEN` of a known token; reads
/// (GET, HEAD) need the `viewer` role or more, everything else `operator`. A missing or unknown token gets 401
/// with `WWW-Authenticate: Bearer`, a viewer token on a write 403; both are counted through `onFailure`.
/// `/healthz` stays open: service managers and load balancers probe it, and it tells only ok or why not. So do the
/// station page's own files (`/`, `/ui/...`): they hold no data, and the page asks for the token it then sends.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [APIToken]
    let onFailure: @Sendable (_ reason: String) -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response {
        if request.uri.path == "/healthz" || StationPage.isPageFile(request.uri.path) { return try await next(request, context) }
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"inspectd\""]
        guard let header = request.headers[.authorization] else {
            onFailure("missing")
            throw APIError(.unauthorized, "unauthorized",
                           "this station needs 'Authorization: Bearer TOKEN' (a token of http.auth.tokens_file)",
                           headers: challenge)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let role = APIToken.role(of: parts[1].trimmingCharacters(in: .whitespaces), in: tokens) else {
            onFailure("unknown")
            throw APIError(.unauthorized, "unauthorized", "the bearer token is not one of http.auth.tokens_file",
                           headers: challenge)
        }
        let reads = request.method == .get || request.method == .head
        if !reads && role != .operator {
            onFailure("forbidden")
            throw APIError(.forbidden, "forbidden",
                           "\(request.method) \(request.uri.path) needs an operator token; this one is a \(role.rawValue) token")
        }
        return try await next(request, context)
    }
}
