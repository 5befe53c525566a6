/// The resolved layout of a YOLO output tensor: which family, how many classes and candidate boxes.
public struct OutputLayout: Sendable, Equatable {
    /// Output family.
    public enum Family: String, Sendable, Equatable {
        /// Ultralytics YOLOv8/YOLO11/YOLOv5u: [1, 4+nc, N], rows cx, cy, w, h, then one score row per class.
        case ultralytics
        /// Classic YOLOv5: [1, N, 5+nc], per box cx, cy, w, h, objectness, class scores.
        case yolov5
    }

    /// Output family.
    public var family: Family
    /// Number of classes (nc).
    public var classCount: Int
    /// Number of candidate boxes (N, 8400 at 640×640).
    public var boxCount: Int

    /// Creates a layout.
    public init(family: Family, classCount: Int, boxCount: Int) {
        self.family = family; self.classCount = classCount; self.boxCount = boxCount
    }

    /// Floats the tensor must hold.
    public var elementCount: Int {
        family == .ultralytics ? (4 + classCount) * boxCount : (5 + classCount) * boxCount
    }

    /// Picks the layout from the output `shape` ([1, A, B] or [A, B]), the class count from the model's
    /// metadata (nil when it has none) and the configured `choice`.
    public static func resolve(shape: [Int], classCount: Int?, choice: OutputLayoutChoice = .auto) throws(OutputError) -> OutputLayout {
        let dims: [Int]
        if shape.count == 3 && shape[0] == 1 { dims = [shape[1], shape[2]] } else if shape.count == 2 { dims = shape } else {
            throw OutputError("output shape \(shape) is not a YOLO detection output ([1, 4+nc, N] or [1, N, 5+nc])")
        }
        let a = dims[0], b = dims[1]
        let asUltralytics = a > 4 && (classCount.map { a == 4 + $0 } ?? true) && b > 0
        let asYOLOv5 = b > 5 && (classCount.map { b == 5 + $0 } ?? true) && a > 0
        switch choice {
        case .ultralytics:
            guard asUltralytics else {
                throw OutputError("output shape \(shape) is not Ultralytics [1, 4+nc, N]\(classCount.map { " with nc = \($0)" } ?? "")")
            }
            return OutputLayout(family: .ultralytics, classCount: a - 4, boxCount: b)
        case .yolov5:
            guard asYOLOv5 else {
                throw OutputError("output shape \(shape) is not YOLOv5 [1, N, 5+nc]\(classCount.map { " with nc = \($0)" } ?? "")")
            }
            return OutputLayout(family: .yolov5, classCount: b - 5, boxCount: a)
        case .auto:
            // Without class names, the box axis is the long one (thousands of boxes, a handful of classes).
            if asUltralytics && (classCount != nil || a < b) {
                return OutputLayout(family: .ultralytics, classCount: a - 4, boxCount: b)
            }
            if asYOLOv5 && (classCount != nil || b < a) {
                return OutputLayout(family: .yolov5, classCount: b - 5, boxCount: a)
            }
            throw OutputError("output shape \(shape) matches neither Ultralytics [1, 4+nc, N] nor YOLOv5 [1, N, 5+nc]"
                + (classCount.map { " for the model's \($0) classes" } ?? ""))
        }
    }
}

/// The model's output does not fit the expected layout.
public struct OutputError: Error, Sendable, CustomStringConvertible {
    /// What does not fit.
    public var description: String
    /// Creates an error.
    public init(_ description: String) { self.description = description }
}
