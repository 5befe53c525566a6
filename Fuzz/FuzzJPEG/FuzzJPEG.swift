import CFuzz
import Imaging

// A camera's JPEG frame as the workers take it: FramePreprocessor (TurboJPEG header, DCT-scaled planar or
// packed decode, letterbox into the model input), then the plain decoder at full size.
nonisolated(unsafe) let preprocessor = try! FramePreprocessor(expectedPixels: 320 * 320)
nonisolated(unsafe) let decoder = try! JPEGDecoder()
nonisolated(unsafe) let frame = PixelBuffer(capacity: 1 << 20)
nonisolated(unsafe) let output = PixelBuffer(capacity: 1 << 22)
nonisolated(unsafe) let input = UnsafeMutablePointer<Float>.allocate(capacity: 3 * 320 * 320)

/// libFuzzer's entry point: one input, never a crash, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJPEG(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size <= frame.capacity else { return 0 }
    frame.bytes.copyMemory(from: data, byteCount: size)
    frame.byteCount = size; frame.format = .jpeg; frame.width = 0; frame.height = 0
    _ = try? preprocessor.prepare(frame, targetWidth: 320, targetHeight: 320, into: input)
    _ = try? decoder.decode(UnsafeRawBufferPointer(start: data, count: size), into: output, format: .rgb24)
    return 0
}

/// The process entry (see cfuzz.h): libFuzzer's driver with the function above.
@_cdecl("FuzzJPEG_main")
public func fuzzJPEGMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    cfuzz_run(argc, argv) { data, size in data.map { fuzzJPEG($0, size) } ?? 0 }
}
