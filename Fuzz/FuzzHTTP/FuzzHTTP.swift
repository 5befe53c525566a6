import API
import CFuzz
import Hummingbird
import HummingbirdCore

// What the HTTP API parses from a request before any route work, as the server runs it: the detect request's
// Content-Type, Content-Length and query (DetectParameters.parse, with Hummingbird's URI parsing), the tokens file
// (APIToken.parse, as `http.auth.tokens_file` is read at start and on reload) and the Authorization header
// against those tokens (BearerAuthorization.check, what the auth middleware calls).
//
// Input layout (so mutations reach every field): up to four lines "Content-Type\nContent-Length\nURI
// query\nAuthorization\n", then the tokens file's text; a missing or empty line leaves its header absent.

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
    func field(_ i: Int) -> String? { i < lines.count && !lines[i].isEmpty ? lines[i] : nil }

    var headers = HTTPFields()
    if let v = field(0) { headers[.contentType] = v }
    if let v = field(1) { headers[.contentLength] = v }
    let uri = URI("/api/v1/detect" + (field(2).map { $0.hasPrefix("?") ? $0 : "?" + $0 } ?? ""))
    if let parsed = try? DetectParameters.parse(headers: headers, uri: uri, maxBody: 32 << 20) {
        precondition(["image/jpeg", "image/png", "multipart/form-data"].contains(parsed.mediaType))
        precondition(parsed.camera.map { !$0.isEmpty } ?? true)
    }

    let tokensText = lines.count > 4 ? lines[4] : ""
    let tokens = (try? APIToken.parse(tokensText)) ?? []
    for method in [HTTPRequest.Method.get, .post] {
        if let role = try? BearerAuthorization.check(header: field(3), method: method, path: uri.path, tokens: tokens) {
            // Nothing is allowed without a token file entry, and a write needs an operator.
            precondition(!tokens.isEmpty)
            precondition(method == .get || role == .operator)
        }
    }
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzHTTP_main")
public func fuzzHTTPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzHTTP($0, size) } ?? 0 }
}
