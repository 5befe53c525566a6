@testable import Daemon
import Detection
import Engine
import Foundation
import Imaging
import TestSupport
import XCTest

/// A frame the worker cannot use whole (truncated or corrupt JPEG, short buffer, wrong size) is a frame error
/// with its reason, counted per camera: never inspected as a normal frame.
final class FrameFailureTests: XCTestCase {
    /// A tiny detector (two classes) on 32×32 pictures: a 1×1 Conv reshaped to [1, 6, 1024].
    private func inspector() throws -> FrameInspector {
        let bytes = OnnxWriter.model(
            input: [1, 3, 32, 32], output: [1, 6, 1024],
            nodes: [.init(op: "Conv", inputs: ["x", "w"], outputs: ["c"], name: "conv", intsAttrs: ["kernel_shape": [1, 1]]),
                    .init(op: "Reshape", inputs: ["c", "shape"], outputs: ["y"], name: "reshape")],
            initializers: [("w", [6, 3, 1, 1], (0..<18).map { Float($0 % 5) * 0.1 })],
            extraTensor: OnnxWriter.int64Tensor("shape", [1, 6, 1024]))
        let model = try Model(bytes: bytes, path: "tiny.onnx")
        let detector = try FrameDetector(outputShape: model.info.outputs[0].shape, classNames: model.info.classNames,
                                         settings: DetectionSettings())
        return try FrameInspector(model: model, detector: detector, expectedPixels: 320 * 240)
    }

    private func jpegFrame(_ data: Data) -> PixelBuffer {
        let b = PixelBuffer(capacity: max(1, data.count))
        data.copyBytes(to: b.bytes.assumingMemoryBound(to: UInt8.self), count: data.count)
        b.byteCount = data.count; b.format = .jpeg
        return b
    }

    func testTruncatedJPEGIsAFrameErrorNotAnInspection() throws {
        let inspector = try inspector()
        let picture = PixelBuffer(capacity: 320 * 240 * 3)
        picture.width = 320; picture.height = 240; picture.format = .rgb24; picture.byteCount = 320 * 240 * 3
        let p = picture.bytes.assumingMemoryBound(to: UInt8.self)
        for i in 0..<picture.byteCount { p[i] = UInt8(truncatingIfNeeded: (i / 3 % 320) ^ (i / 960)) }
        let jpeg = try JPEGEncoder().encode(picture)
        XCTAssertNoThrow(try inspector.inspect(jpegFrame(jpeg)), "the whole frame is inspected")
        XCTAssertThrowsError(try inspector.inspect(jpegFrame(jpeg.prefix(jpeg.count / 2)))) { error in
            guard case ImagingError.damagedJPEG = error else { return XCTFail("\(error)") }
            XCTAssertEqual(FrameFailure(error), .truncatedJPEG)
        }
        let garbage = Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7919) })
        XCTAssertThrowsError(try inspector.inspect(jpegFrame(garbage))) { XCTAssertEqual(FrameFailure($0), .corruptJPEG) }
        let short = PixelBuffer(capacity: 100)
        short.width = 320; short.height = 240; short.format = .rgb24; short.byteCount = 100
        XCTAssertThrowsError(try inspector.inspect(short)) { XCTAssertEqual(FrameFailure($0), .shortBuffer, "\($0)") }
        let empty = PixelBuffer(capacity: 16)
        empty.format = .rgb24
        XCTAssertThrowsError(try inspector.inspect(empty)) { XCTAssertEqual(FrameFailure($0), .wrongSize, "\($0)") }
    }

    func testFrameErrorsAreCountedPerCameraAndReason() {
        let metrics = PipelineMetrics()
        metrics.countFrameError(camera: "cam1", reason: .truncatedJPEG)
        metrics.countFrameError(camera: "cam1", reason: .truncatedJPEG)
        metrics.countFrameError(camera: "cam2", reason: .shortBuffer)
        let text = metrics.exposition()
        XCTAssertTrue(text.contains("inspectd_frame_errors_total{camera=\"cam1\",reason=\"truncated_jpeg\"} 2"), text)
        XCTAssertTrue(text.contains("inspectd_frame_errors_total{camera=\"cam2\",reason=\"short_buffer\"} 1"), text)
    }
}
