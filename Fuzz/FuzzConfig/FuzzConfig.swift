import CFuzz
import Daemon
import Foundation

// The config reader: YAML (Yams), then every section's keys, types, bounds and names, as `check-config`,
// `run` and a SIGHUP reload read the file. Paths resolve against a directory holding a model, so the model
// checks run too.
let base = FileManager.default.currentDirectoryPath

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? InspectdConfig.parse(yaml: yaml, file: "fuzz.yaml", baseDirectory: base, revision: "fuzz")
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzConfig_main")
public func fuzzConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzConfig($0, size) } ?? 0 }
}
