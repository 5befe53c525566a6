import Hummingbird

/// `http.auth`: every request but `/healthz` carries `Authorization: Bearer TOKEN` of a known token; reads
/// (GET, HEAD) need the `viewer` role or more, everything else `operator` (`BearerAuthorization`). A missing or
/// unknown token gets 401 with `WWW-Authenticate: Bearer`, a viewer token on a write 403; both are counted
/// through `onFailure`. `/healthz` stays open: service managers and load balancers probe it, and it tells only
/// ok or why not. So do the station page's own files (`/`, `/ui/...`): they hold no data, and the page asks for
/// the token it then sends. `GET /api/v1/events` also takes the token as `?access_token=` (EventSource cannot
/// set headers).
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let tokens: [APIToken]
    let onFailure: @Sendable (_ reason: String) -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response {
        if request.uri.path == "/healthz" || StationPage.isPageFile(request.uri.path) { return try await next(request, context) }
        var header = request.headers[.authorization]
        // EventSource (the station page's live feed) cannot send headers: for the event stream only, the token
        // may come as ?access_token=, checked by the same constant-time comparison. Only there, because a URL
        // ends up in proxy logs and browser history; the stream is read-only (viewer) data.
        if header == nil, request.uri.path == "/api/v1/events",
           let token = request.uri.queryParameters["access_token"] {
            header = "Bearer \(token)"
        }
        do {
            _ = try BearerAuthorization.check(header: header, method: request.method,
                                              path: request.uri.path, tokens: tokens)
        } catch {
            onFailure(error.reason)
            throw error.error
        }
        return try await next(request, context)
    }
}
