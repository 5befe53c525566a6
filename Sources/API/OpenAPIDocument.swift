/// The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`: Sources/API/openapi.json, embedded in
/// the binary by SwiftPM (`.embedInCode`), so there is one copy to edit and the installed binary needs no
/// resource bundle beside it.
enum OpenAPIDocument {
    static let json = String(decoding: PackageResources.openapi_json, as: UTF8.self)
}
