import Hummingbird
import Logging

/// Gives every failing request the JSON error body, whatever threw: our `APIError`s pass as they are,
/// Hummingbird's own (404 of the router, 413 of a body over the limit) get their status with a JSON body, and
/// anything else is a 500 that is logged (a bug: the API answers its known failures itself). The router's 404
/// for a documented path asked with another method is a 405 with `Allow` (from the OpenAPI document).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as any HTTPResponseError {
            if error.status == .notFound, let allowed = OpenAPIDocument.methods(for: request.uri.path) {
                return APIError(.methodNotAllowed, "method_not_allowed",
                                "\(request.uri.path) answers \(allowed.joined(separator: ", ")), not \(request.method)",
                                headers: [.allow: allowed.joined(separator: ", ")]).response()
            }
            let detail: String
            switch error.status.code {
            case 404: detail = "no such resource: \(request.method) \(request.uri.path); the API is under /api/v1 (see /api/v1/openapi.json), metrics on /metrics, health on /healthz"
            case 413: detail = "the body is larger than http.max_body"
            default: detail = (error as? HTTPError)?.body ?? error.status.reasonPhrase
            }
            return APIError(error.status, APIError.code(for: error.status), detail).response()
        } catch {
            logger.error("HTTP \(request.method) \(request.uri.path) failed: \(error)")
            return APIError(.internalServerError, "internal", "\(error)").response()
        }
    }
}
