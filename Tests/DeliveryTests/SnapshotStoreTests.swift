import Foundation
import TestSupport
import XCTest
@testable import Delivery

final class SnapshotStoreTests: XCTestCase {
    func testWritesFramesAndKeepsUnderCapDeletingOldest() throws {
        let dir = try TestProcess.temporaryDirectory("snap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try SnapshotStore(directory: dir.path, maxBytes: 10_000)
        var paths: [String] = []
        for i in 0..<10 {
            let saved = try store.save(jpeg: Data(repeating: UInt8(i), count: 1500), annotated: Data(count: 500),
                                       camera: "cam/1", sequence: UInt64(i), captureTime: Date())
            XCTAssertTrue(saved.path.hasPrefix(dir.path))
            XCTAssertFalse(saved.path.dropFirst(dir.path.count + 1).contains("/"), "camera id must not make subdirectories")
            XCTAssertNotNil(saved.annotatedPath)
            paths.append(saved.path)
        }
        XCTAssertLessThanOrEqual(store.usedBytes, 10_000)
        XCTAssertFalse(FileManager.default.fileExists(atPath: paths[0]), "oldest deleted")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: paths[9])), Data(repeating: 9, count: 1500))
        // A new store over the same directory accounts for existing files.
        let reopened = try SnapshotStore(directory: dir.path, maxBytes: 10_000)
        XCTAssertEqual(reopened.usedBytes, store.usedBytes)
    }
}
