import Delivery
import Detection
import Foundation
import Logging

/// The evidence of NG frames: the JPEG as captured and, with `snapshots.annotated`, a copy with the defects
/// drawn, saved under the snapshot directory's cap. A snapshot that cannot be made is logged and skipped: the
/// inspection is recorded without it.
final class EvidenceSnapshots: Sendable {
    private let store: SnapshotStore
    private let annotator: SnapshotAnnotator?
    private let logger: Logger

    init(store: SnapshotStore, annotator: SnapshotAnnotator?, logger: Logger) {
        self.store = store; self.annotator = annotator; self.logger = logger
    }

    /// Saves the evidence of an NG frame; returns the paths (plain, annotated), or nil for an OK frame, a frame
    /// without JPEG, or a failed save.
    func save(_ inspection: Inspection, jpeg: Data?) -> (String, String?)? {
        guard inspection.verdict == .ng, let jpeg else { return nil }
        let where_: Logger.Metadata = ["camera": "\(inspection.cameraID)", "frame": "\(inspection.sequence)"]
        var annotated: Data?
        if let annotator {
            do { annotated = try annotator.annotate(jpeg: jpeg, defects: inspection.defects) } catch {
                logger.warning("annotated snapshot not made: \(error)", metadata: where_)
            }
        }
        do {
            return try store.save(jpeg: jpeg, annotated: annotated, camera: inspection.cameraID,
                                  sequence: inspection.sequence, captureTime: inspection.captureTime)
        } catch {
            logger.warning("snapshot not saved: \(error)", metadata: where_)
            return nil
        }
    }
}
