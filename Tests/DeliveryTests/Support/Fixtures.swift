import Foundation
@testable import Delivery

/// Synthetic records for the delivery tests.
enum Fixtures {
    static let sha = String(repeating: "0f", count: 32)

    static func inspection(camera: String = "cam1", sequence: UInt64, at: Date = Date(), defects: Int = 1,
                           snapshot: String? = nil) -> InspectionRecord {
        InspectionRecord(
            camera: camera, sequence: sequence, captureTime: at, latencyMillis: 12.25, modelName: "pcb-yolo",
            modelSHA256: sha, configRevision: "rev-7",
            defects: (0..<defects).map { i in
                DefectRecord(classID: i % 3, className: ["short", "open", "spur"][i % 3], confidence: 0.91,
                             threshold: 0.55, x1: 10.5, y1: 20, x2: 110.25, y2: 220)
            }, snapshotPath: snapshot)
    }

    static let factory = MessageFactory(line: "L1", station: "S2")
}
