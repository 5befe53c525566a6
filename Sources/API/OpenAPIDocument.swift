import Foundation

/// The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`: Sources/API/openapi.json, embedded in
/// the binary by SwiftPM (`.embedInCode`), so there is one copy to edit and the installed binary needs no
/// resource bundle beside it.
enum OpenAPIDocument {
    static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)

    /// Each documented path as its segments (`{id}` matches any one segment) with its methods, uppercased.
    private static let routes: [(segments: [Substring], methods: [String])] = {
        guard let root = try? JSONSerialization.jsonObject(with: Data(PackageResources.openapi_json)) as? [String: Any],
              let paths = root["paths"] as? [String: [String: Any]] else { return [] }
        let verbs: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        return paths.map { path, item in
            (path.split(separator: "/"), item.keys.filter(verbs.contains).map { $0.uppercased() }.sorted())
        }
    }()

    /// The methods the document gives `path`, nil when it documents no such path: a request with another
    /// method gets 405 and these in `Allow`, rather than 404 (the path exists).
    static func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        return routes.first { route in
            route.segments.count == segments.count && zip(route.segments, segments).allSatisfy { template, given in
                template == given || (template.hasPrefix("{") && template.hasSuffix("}"))
            }
        }?.methods
    }
}
