import Foundation
import Hummingbird
import NIOCore

/// `GET /api/v1/session`: the caller's role, so a client (the station page) can offer only what its token may
/// do. `BearerAuthMiddleware` has already let the request through; the role is the same check's answer. With
/// `http.auth` off everyone may do everything (the listener is loopback only): role `operator`, `auth` false.
struct SessionRoutes: Sendable {
    let tokens: [APIToken]

    /// The answer.
    struct Session: Encodable {
        var role: String
        var auth: Bool
    }

    func add(to router: Router<BasicRequestContext>) {
        let tokens = self.tokens
        router.group("/api/v1").get("/session") { request, _ in
            guard !tokens.isEmpty else { return try Routes.json(Session(role: APIRole.operator.rawValue, auth: false)) }
            let role: APIRole
            do {
                role = try BearerAuthorization.check(header: request.headers[.authorization], method: .get,
                                                     path: request.uri.path, tokens: tokens)
            } catch let refusal as BearerAuthorization.Refusal { throw refusal.error }
            return try Routes.json(Session(role: role.rawValue, auth: true))
        }
    }
}
