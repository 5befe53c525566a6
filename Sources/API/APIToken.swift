import Crypto
import Foundation

/// Who may do what on the API: `viewer` may read (GET, HEAD), `operator` may also act (POST: detect, and later
/// triggers and uploads).
public enum APIRole: String, Sendable, Equatable, CaseIterable {
    case viewer
    case `operator`
}

/// One bearer token of `http.auth.tokens_file`, kept only as its SHA-256 digest so the token itself does not
/// stay in memory or in logs, and so every comparison is over 32 bytes whatever the presented token's length.
public struct APIToken: Sendable, Equatable {
    /// What the token may do.
    public var role: APIRole
    /// SHA-256 of the token.
    let digest: [UInt8]

    /// A token with `role`.
    public init(_ token: String, role: APIRole) {
        self.role = role
        digest = Self.digest(token)
    }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    /// Shortest token accepted: 16 characters (e.g. `openssl rand -hex 16` gives 32).
    public static let minimumLength = 16

    /// Parses a tokens file: one `TOKEN ROLE` per line (ROLE `viewer` or `operator`), blank lines and lines
    /// starting with `#` ignored. Throws a message naming the line for anything else: a token shorter than
    /// `minimumLength` or with characters outside printable ASCII, an unknown role, a token given twice, or no
    /// token at all.
    public static func parse(_ text: String) throws(TokenFileError) -> [APIToken] {
        var tokens: [APIToken] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2 else {
                throw TokenFileError("line \(n + 1): expected 'TOKEN ROLE' (ROLE viewer or operator), got \(fields.count) field(s)")
            }
            let token = String(fields[0])
            guard token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw TokenFileError("line \(n + 1): a token is printable ASCII without spaces")
            }
            guard token.count >= minimumLength else {
                throw TokenFileError("line \(n + 1): the token has \(token.count) characters; at least \(minimumLength) (e.g. openssl rand -hex 16)")
            }
            guard let role = APIRole(rawValue: String(fields[1])) else {
                throw TokenFileError("line \(n + 1): role '\(fields[1])' is not viewer or operator")
            }
            let entry = APIToken(token, role: role)
            guard !tokens.contains(where: { $0.digest == entry.digest }) else {
                throw TokenFileError("line \(n + 1): this token is already given on an earlier line")
            }
            tokens.append(entry)
        }
        guard !tokens.isEmpty else { throw TokenFileError("no token in it (one 'TOKEN ROLE' per line)") }
        return tokens
    }

    /// The role of `presented`, nil when it matches no token. Compares with every token and without an early
    /// exit, so the time taken does not tell how much of a token was right.
    static func role(of presented: String, in tokens: [APIToken]) -> APIRole? {
        let d = digest(presented)
        var found: APIRole?
        for t in tokens {
            var difference: UInt8 = 0
            for i in 0..<d.count { difference |= d[i] ^ t.digest[i] }
            if difference == 0 { found = t.role }
        }
        return found
    }
}

/// A tokens file that cannot be used, with the reason.
public struct TokenFileError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
