import CFuzz
import Imaging

// A PNG as replay cameras, `detect` and `eval` read it (libpng's simplified API), then letterboxed.
nonisolated(unsafe) let preprocessor = try! FramePreprocessor(expectedPixels: 320 * 320)
nonisolated(unsafe) let input = UnsafeMutablePointer<Float>.allocate(capacity: 3 * 320 * 320)

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPNG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let image = try? ImageFileReader.decodePNG(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    _ = try? preprocessor.prepare(image, targetWidth: 320, targetHeight: 320, into: input)
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzPNG_main")
public func fuzzPNGMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzPNG($0, size) } ?? 0 }
}
