import Hummingbird
import NIOCore

/// The station page (Sources/API/Web): plain HTML, CSS and JavaScript embedded in the binary, served at `/` and
/// `/ui/...`. It calls only the public `/api/v1`, with the token the user gives it.
enum StationPage {
    private struct File { let bytes: [UInt8]; let type: String }

    private static let files: [String: File] = [
        "/": File(bytes: PackageResources.index_html, type: "text/html; charset=utf-8"),
        "/ui/station.js": File(bytes: PackageResources.station_js, type: "text/javascript; charset=utf-8"),
        "/ui/station.css": File(bytes: PackageResources.station_css, type: "text/css; charset=utf-8"),
    ]

    /// True for the page's own files, which need no token (they hold no station data).
    static func isPageFile(_ path: String) -> Bool { files[path] != nil }

    static func add(to router: Router<BasicRequestContext>) {
        for (path, file) in files {
            for method in [HTTPRequest.Method.get, .head] {
                router.on(RouterPath(path), method: method) { _, _ in
                    // Short caching: a new binary's page is picked up within a minute, a reload costs nothing.
                    Response(status: .ok, headers: [.contentType: file.type, .cacheControl: "max-age=60"],
                             body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
                }
            }
        }
    }
}
