import Hummingbird

/// The bearer-token check of `http.auth` on one request's `Authorization` header, outside the middleware so the
/// HTTP fuzz harness (Fuzz/FuzzHTTP) runs the same code the server does.
public enum BearerAuthorization {
    /// A refused request: the reason counted in `inspectd_http_auth_failures_total{reason}` (`missing`,
    /// `unknown`, `forbidden`) and the answer (401 with a `WWW-Authenticate` challenge, or 403).
    public struct Refusal: Error, Sendable {
        /// The metric label.
        public var reason: String
        /// The answer.
        public var error: APIError
    }

    /// The role of the token in `header` (`Bearer TOKEN`, scheme case-insensitive); throws the refusal when the
    /// header is missing, not a bearer token, names no token of `tokens`, or is a viewer token on a write
    /// (anything but GET and HEAD).
    public static func check(header: String?, method: HTTPRequest.Method, path: String,
                             tokens: [APIToken]) throws(Refusal) -> APIRole {
        let challenge: HTTPFields = [.wwwAuthenticate: "Bearer realm=\"inspectd\""]
        guard let header else {
            throw Refusal(reason: "missing", error: APIError(
                .unauthorized, "unauthorized",
                "this station needs 'Authorization: Bearer TOKEN' (a token of http.auth.tokens_file)", headers: challenge))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let role = APIToken.role(of: parts[1].trimmingCharacters(in: .whitespaces), in: tokens) else {
            throw Refusal(reason: "unknown", error: APIError(
                .unauthorized, "unauthorized", "the bearer token is not one of http.auth.tokens_file", headers: challenge))
        }
        if method != .get && method != .head && role != .operator {
            throw Refusal(reason: "forbidden", error: APIError(
                .forbidden, "forbidden", "\(method) \(path) needs an operator token; this one is a \(role.rawValue) token"))
        }
        return role
    }
}
