import CFuzz
import Engine

// The model loader: protobuf reader, graph building, shape and type checks (what `check-config` and `run` do
// with a model file). A session is not created: its buffers follow the declared shapes.

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? Model(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: "fuzz.onnx")
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzONNX_main")
public func fuzzONNXMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzONNX($0, size) } ?? 0 }
}
