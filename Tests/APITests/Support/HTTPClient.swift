import Foundation
import TestSupport

/// Real HTTP requests with curl (a client the API was not written with): status, headers, body.
struct HTTPClient {
    struct Answer {
        var status: Int
        var contentType: String
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object (nil when it is not one).
        var object: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
        /// The body as a JSON list (nil when it is not one).
        var list: [[String: Any]]? { try? JSONSerialization.jsonObject(with: body) as? [[String: Any]] }
    }

    let port: Int
    let directory: URL

    /// `method path` with optional body file and headers.
    func request(_ method: String, _ path: String, bodyFile: String? = nil, headers: [String: String] = [:])
        throws -> Answer {
        let out = directory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(atPath: out.path + ".h")
        }
        var args = ["-s", "-S", "-X", method, "-o", out.path, "-D", out.path + ".h", "-w", "%{http_code}",
                    "http://127.0.0.1:\(port)\(path)"]
        if method == "HEAD" { args[3] = "HEAD"; args.insert("-I", at: 0) }
        for (k, v) in headers { args += ["-H", "\(k): \(v)"] }
        if let bodyFile { args += ["--data-binary", "@" + bodyFile] }
        let (status, output) = try TestProcess.run("curl", args, timeout: 120)
        guard status == 0, let code = Int(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(3)) else {
            throw TestProcess.Failure(description: "curl \(method) \(path) failed (\(status)): \(output)")
        }
        var fields: [String: String] = [:]
        let head = (try? String(contentsOfFile: out.path + ".h", encoding: .utf8)) ?? ""
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Answer(status: code, contentType: fields["content-type"] ?? "", headers: fields,
                      body: (try? Data(contentsOf: out)) ?? Data())
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> Answer {
        try request("GET", path, headers: headers)
    }

    /// A multipart/form-data POST, each field as curl's `-F` takes it (`image=@file.jpg;type=image/jpeg`).
    func postForm(_ path: String, fields: [String]) throws -> Answer {
        let out = directory.appendingPathComponent("curl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let args = ["-s", "-S", "-o", out.path, "-w", "%{http_code}", "http://127.0.0.1:\(port)\(path)"]
            + fields.flatMap { ["-F", $0] }
        let (status, output) = try TestProcess.run("curl", args, timeout: 120)
        guard status == 0, let code = Int(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(3)) else {
            throw TestProcess.Failure(description: "curl -F \(path) failed (\(status)): \(output)")
        }
        return Answer(status: code, contentType: "", headers: [:], body: (try? Data(contentsOf: out)) ?? Data())
    }
}
