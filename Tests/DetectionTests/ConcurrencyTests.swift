import XCTest
@testable import Detection

/// One `FrameDetector` shared by several workers, each with its own scratch, gives each the same result as a
/// lone call (the daemon's worker pool).
final class ConcurrencyTests: XCTestCase {
    func testWorkersShareOneDetector() async throws {
        var frames: [[Float]] = []
        for k in 0..<8 {
            var boxes: [(cx: Float, cy: Float, w: Float, h: Float, scores: [Float])] = []
            for i in 0..<200 {
                let cx = Float((i * 37 + k * 11) % 600) + 20, cy = Float((i * 53 + k * 7) % 600) + 20
                let a = Float((i * 7 + k) % 100) / 100, b = Float((i * 13 + k) % 100) / 100
                boxes.append((cx: cx, cy: cy, w: 30, h: 20, scores: [a, b]))
            }
            frames.append(DecodingTests.ultralytics(boxes, classes: 2))
        }
        let inputs = frames
        let detector = try FrameDetector(outputShape: [1, 6, 200], classNames: ["a", "b"], settings: DetectionSettings())
        let mapping = DecodingTests.identity
        let expected = try inputs.map { f in
            try f.withUnsafeBufferPointer { try detector.detect(output: $0, mapping: mapping, scratch: detector.makeScratch()) }
        }
        XCTAssertTrue(expected.allSatisfy { !$0.isEmpty })
        let results = try await withThrowingTaskGroup(of: (Int, [[Candidate]]).self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let scratch = detector.makeScratch()
                    var out: [[Candidate]] = []
                    for _ in 0..<25 {
                        for f in inputs {
                            out.append(try f.withUnsafeBufferPointer { try detector.detect(output: $0, mapping: mapping, scratch: scratch) })
                        }
                    }
                    return (worker, out)
                }
            }
            var all: [[[Candidate]]] = []
            for try await (_, out) in group { all.append(out) }
            return all
        }
        for out in results {
            for (i, got) in out.enumerated() { XCTAssertEqual(got, expected[i % inputs.count]) }
        }
    }
}
