import Foundation
import TestSupport

/// Validates JSON payloads against the JSON Schema files in Configs/schemas with python `jsonschema`
/// (`$INSPECTD_PYTHON`, default `<repo>/.venv/bin/python`, made by Scripts/setup).
enum SchemaValidator {
    /// The schema file for a payload's `schema` field (`inspectd.defects/1` → inspectd.defects.v1.schema.json).
    static func schemaFile(for schemaName: String) -> URL {
        TestProcess.repositoryRoot.appendingPathComponent("Configs/schemas")
            .appendingPathComponent(schemaName.replacingOccurrences(of: "/", with: ".v") + ".schema.json")
    }

    /// Returns one line per invalid payload (empty when all are valid). Throws when python is unusable.
    static func problems(_ payloads: [String]) throws -> [String] {
        let python = TestProcess.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestProcess.Failure(description: "python with jsonschema not found at \(python): run Scripts/setup or set INSPECTD_PYTHON")
        }
        let dir = try TestProcess.temporaryDirectory("schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("payloads.jsonl")
        try payloads.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let script = """
            import json, sys, os, jsonschema
            root = sys.argv[2]
            bad = 0
            for n, line in enumerate(open(sys.argv[1]), 1):
                try:
                    p = json.loads(line)
                    name = p.get("schema", "")
                    path = os.path.join(root, name.replace("/", ".v") + ".schema.json")
                    if not os.path.exists(path):
                        print(f"payload {n}: no schema file for schema {name!r}"); bad += 1; continue
                    jsonschema.Draft202012Validator(json.load(open(path)), format_checker=jsonschema.FormatChecker()).validate(p)
                except Exception as e:
                    print(f"payload {n}: {str(e).splitlines()[0]}: {line.strip()[:300]}"); bad += 1
            print(f"checked {n if 'n' in dir() else 0} payloads, {bad} invalid")
            sys.exit(1 if bad else 0)
            """
        let r = try TestProcess.run(python, ["-c", script, input.path,
                                             TestProcess.repositoryRoot.appendingPathComponent("Configs/schemas").path])
        return r.status == 0 ? [] : r.output.split(separator: "\n").map(String.init)
    }
}
