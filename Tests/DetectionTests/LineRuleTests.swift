import Foundation
import XCTest
@testable import Detection

final class LineRuleTests: XCTestCase {
    let names = ["open", "short"]

    func judge(_ rules: [LineRule]) throws -> CameraJudge {
        try CameraJudge(cameraID: "cam", classNames: names, settings: DetectionSettings(), rules: CameraRules(lineRules: rules))
    }

    func run(_ judge: CameraJudge, _ sequence: UInt64, _ classes: [Int]) -> [Alarm] {
        let candidates = classes.map { Candidate(classID: $0, score: 0.9, box: Box(x1: 0, y1: 0, x2: 5, y2: 5)) }
        return judge.judge(candidates, frame: FrameStamp(sequence: sequence, captureTime: Date(timeIntervalSince1970: Double(sequence)))).alarms
    }

    func testConsecutiveClassFiresOncePerStreak() throws {
        let judge = try judge([LineRule(id: "short-x3", kind: .consecutiveClass, className: "short", frames: 3)])
        XCTAssertTrue(run(judge, 1, [1]).isEmpty)
        XCTAssertTrue(run(judge, 2, [1, 0]).isEmpty)
        let alarms = run(judge, 3, [1])
        XCTAssertEqual(alarms, [Alarm(ruleID: "short-x3", kind: "consecutive_class", message: "short on 3 consecutive frames",
                                      evidence: [1, 2, 3])])
        XCTAssertTrue(run(judge, 4, [1]).isEmpty, "same streak: no second alarm")
        XCTAssertTrue(run(judge, 5, [0]).isEmpty, "streak broken: re-armed")
        XCTAssertTrue(run(judge, 6, [1]).isEmpty)
        XCTAssertTrue(run(judge, 7, [1]).isEmpty)
        XCTAssertEqual(run(judge, 8, [1]).first?.evidence, [6, 7, 8])
    }

    func testConsecutiveAnyClassWatchesEachClassAlone() throws {
        let judge = try judge([LineRule(id: "any-x2", kind: .consecutiveClass, frames: 2)])
        XCTAssertTrue(run(judge, 10, [0]).isEmpty)
        XCTAssertTrue(run(judge, 11, [1]).isEmpty, "different classes do not make a streak")
        let alarms = run(judge, 12, [1, 0])
        XCTAssertEqual(alarms.count, 1)
        XCTAssertEqual(alarms.first?.message, "short on 2 consecutive frames")
        XCTAssertEqual(alarms.first?.evidence, [11, 12])
    }

    func testNGRateFiresAboveLimitAndRearmsBelow() throws {
        let judge = try judge([LineRule(id: "ng-rate", kind: .ngRate, frames: 4, ngPercent: 50)])
        XCTAssertTrue(run(judge, 1, [0]).isEmpty)
        XCTAssertTrue(run(judge, 2, [0]).isEmpty)
        XCTAssertTrue(run(judge, 3, [0]).isEmpty, "fewer than 4 frames: not judged yet")
        let alarms = run(judge, 4, [])
        XCTAssertEqual(alarms.first?.ruleID, "ng-rate")
        XCTAssertEqual(alarms.first?.kind, "ng_rate")
        XCTAssertEqual(alarms.first?.evidence, [1, 2, 3], "the NG frames in the window")
        XCTAssertTrue(run(judge, 5, [0]).isEmpty, "still above: fires once")
        XCTAssertTrue(run(judge, 6, []).isEmpty)   // window 3,4,5,6: 2 NG = 50%, not above: re-armed
        XCTAssertTrue(run(judge, 7, [1]).isEmpty)  // 4,5,6,7: 50%
        XCTAssertEqual(run(judge, 8, [1]).first?.evidence, [5, 7, 8])
    }
}
