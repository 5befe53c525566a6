/// Per-worker working memory for `FrameDetector.detect`: sized on first use, reused for every frame, so the
/// frame path does not allocate in steady state (beyond the small result array). One per worker thread;
/// never shared between threads.
public final class DetectionScratch {
    /// Best class score per box (Ultralytics layout).
    var bestScore: [Float] = []
    /// Class of `bestScore` per box.
    var bestClass: [Int32] = []
    /// Candidates above the pre-filter, in model-input pixels.
    var candidates: [RawCandidate] = []
    /// Candidate indices in processing order.
    var order: [Int32] = []
    /// Suppressed flags by candidate index.
    var suppressed: [Bool] = []
    /// Kept candidate indices.
    var kept: [Int32] = []

    /// Candidates above the pre-filter on the last frame (before NMS): a figure for benchmarks.
    public var candidateCount: Int { candidates.count }

    /// Creates empty scratch; buffers grow to the model's size on the first frame.
    public init() {}

    func prepare(boxCount: Int) {
        if bestScore.count < boxCount {
            bestScore = [Float](repeating: 0, count: boxCount)
            bestClass = [Int32](repeating: 0, count: boxCount)
            candidates.reserveCapacity(boxCount)
            order.reserveCapacity(boxCount)
            suppressed.reserveCapacity(boxCount)
            kept.reserveCapacity(boxCount)
        }
        candidates.removeAll(keepingCapacity: true)
    }
}

/// A decoded box above the pre-filter, corners in model-input pixels.
struct RawCandidate {
    var x1: Float, y1: Float, x2: Float, y2: Float
    var score: Float
    var classID: Int32
    /// torchvision's area: (x2 - x1) * (y2 - y1), negative for inverted boxes.
    var area: Float { (x2 - x1) * (y2 - y1) }
}
