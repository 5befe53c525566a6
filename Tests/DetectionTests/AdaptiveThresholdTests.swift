import Foundation
import XCTest
@testable import Detection

final class AdaptiveThresholdTests: XCTestCase {
    let names = ["open", "short"]
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func settings(window: Int = 100, minSamples: Int = 10, drift: Double = 60) -> DetectionSettings {
        DetectionSettings(thresholds: ThresholdSettings(base: 0.3),
                          adaptive: AdaptiveSettings(enabled: true, classes: ["short"], window: window,
                                                     minSamples: minSamples, driftAfterSeconds: drift))
    }

    /// One frame whose only candidate is a `short` at `score`, one second after the previous.
    func frame(_ judge: CameraJudge, _ sequence: UInt64, short score: Float) -> Inspection {
        judge.judge([Candidate(classID: 1, score: score, box: Box(x1: 0, y1: 0, x2: 10, y2: 10))],
                    frame: FrameStamp(sequence: sequence, captureTime: start.addingTimeInterval(Double(sequence))))
    }

    func testBaseUntilWarmedUpThenPercentilePlusMargin() throws {
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings())
        for i in 0..<9 {
            let inspection = frame(judge, UInt64(i), short: 0.25)
            XCTAssertEqual(inspection.verdict, .ok)
            XCTAssertTrue(inspection.thresholdChanges.isEmpty)
            XCTAssertEqual(judge.thresholds[1], 0.3, "warm-up: the base applies")
        }
        let tenth = frame(judge, 9, short: 0.25)
        XCTAssertEqual(judge.thresholds[1], 0.35, accuracy: 1e-6, "p90 0.25 + margin 0.1")
        XCTAssertEqual(tenth.thresholdChanges.count, 1)
        XCTAssertEqual(tenth.thresholdChanges.first?.className, "short")
        XCTAssertEqual(tenth.thresholdChanges.first?.from, 0.3)
        XCTAssertEqual(judge.thresholds[0], 0.3, "non-adaptive class keeps its base")
        // 0.32 is above the base but below the threshold in force: OK, and the sample is recorded.
        let next = frame(judge, 10, short: 0.32)
        XCTAssertEqual(next.verdict, .ok)
        // A defect above the threshold in force records that threshold and adds no sample.
        let ng = frame(judge, 11, short: 0.5)
        XCTAssertEqual(ng.verdict, .ng)
        XCTAssertEqual(ng.defects.first?.threshold ?? 0, judge.thresholds[1], accuracy: 1e-6)
        XCTAssertEqual(judge.thresholdState.classes["short"]?.samples.count, 11)
    }

    func testNearestRankPercentile() throws {
        let samples: [Float] = [0.29, 0.05, 0.1, 0.15, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25]
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 10, minSamples: 10))
        for (i, s) in samples.enumerated() { _ = frame(judge, UInt64(i), short: s) }
        // Nearest rank: the 9th of 10 sorted samples (0.25), no interpolation (numpy's would give 0.254).
        XCTAssertEqual(judge.thresholds[1], 0.35, accuracy: 1e-6)
        var median = settings(window: 10, minSamples: 10)
        median.adaptive.percentile = 50
        median.adaptive.minChange = 0
        let judge50 = try CameraJudge(cameraID: "cam", classNames: names, settings: median)
        for (i, s) in samples.enumerated() { _ = frame(judge50, UInt64(i), short: s) }
        XCTAssertEqual(judge50.thresholds[1], 0.31, accuracy: 1e-6, "5th of 10: 0.21 + 0.1")
        // The window slides: ten low samples later the oldest high ones are gone and the floor applies.
        for i in 10..<20 { _ = frame(judge, UInt64(i), short: 0.01) }
        XCTAssertEqual(judge.thresholds[1], 0.3)
        XCTAssertEqual(judge.thresholdState.classes["short"]?.samples, Array(repeating: 0.01, count: 10))
    }

    func testFrameWithoutCandidatesRecordsZero() throws {
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 10, minSamples: 1))
        _ = judge.judge([], frame: FrameStamp(sequence: 1, captureTime: start))
        XCTAssertEqual(judge.thresholdState.classes["short"]?.samples, [0])
        XCTAssertNil(judge.thresholdState.classes["open"], "open is not adaptive")
    }

    func testClampedToCeiling() throws {
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 10, minSamples: 3))
        // Scores below the (rising) threshold keep being recorded; p90 + 0.1 soon passes 0.9.
        var scores: [Float] = [0.29, 0.29, 0.29, 0.38, 0.47, 0.56, 0.65, 0.74, 0.83]
        scores.append(0.85)
        for (i, s) in scores.enumerated() { _ = frame(judge, UInt64(i), short: s) }
        XCTAssertEqual(judge.thresholds[1], 0.9, "ceiling")
    }

    func testPersistenceRoundTrip() throws {
        let first = try CameraJudge(cameraID: "cam", classNames: names, settings: settings())
        for i in 0..<30 { _ = frame(first, UInt64(i), short: 0.2 + Float(i % 5) / 100) }
        let saved = try JSONEncoder().encode(first.thresholdState)
        let state = try JSONDecoder().decode(ThresholdState.self, from: saved)
        XCTAssertEqual(state, first.thresholdState)
        let second = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(), state: state)
        XCTAssertEqual(second.thresholds, first.thresholds)
        XCTAssertEqual(second.thresholdState, first.thresholdState)
        // Both evolve identically afterwards.
        for i in 30..<60 {
            let a = frame(first, UInt64(i), short: Float(i) / 100), b = frame(second, UInt64(i), short: Float(i) / 100)
            XCTAssertEqual(a.defects, b.defects)
            XCTAssertEqual(a.thresholdChanges, b.thresholdChanges)
        }
        // A smaller window keeps the newest samples.
        let small = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 20), state: state)
        XCTAssertEqual(small.thresholdState.classes["short"]?.samples, Array(state.classes["short"]!.samples.suffix(20)))
    }

    /// Feeds scores just below the threshold in force (the scene slowly brightening) until the class sits at
    /// its ceiling; returns the first sequence number at the ceiling.
    func climbToCeiling(_ judge: CameraJudge, from sequence: inout UInt64) -> UInt64 {
        while judge.thresholds[1] < 0.9 {
            XCTAssertTrue(frame(judge, sequence, short: judge.thresholds[1] - 0.001).alarms.isEmpty)
            sequence += 1
            if sequence > 10_000 { XCTFail("never reached the ceiling"); break }
        }
        return sequence - 1
    }

    func testDriftAlarmAfterHeldAtCeiling() throws {
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 10, minSamples: 10, drift: 60))
        var sequence: UInt64 = 0
        let reached = climbToCeiling(judge, from: &sequence)
        var alarms: [(UInt64, Alarm)] = []
        for i in sequence..<(sequence + 200) {
            for alarm in frame(judge, i, short: 0.899).alarms { alarms.append((i, alarm)) }
        }
        XCTAssertEqual(alarms.count, 1, "fires once per stay at the ceiling")
        // Frames are one second apart: the alarm comes 60 s after the threshold reached the ceiling.
        XCTAssertEqual(alarms.first?.0, reached + 60)
        XCTAssertEqual(alarms.first?.1.ruleID, "drift:short")
        XCTAssertEqual(alarms.first?.1.kind, "threshold_drift")
        XCTAssertEqual(alarms.first?.1.evidence, [reached + 60])
        // Leaving the ceiling re-arms it.
        sequence += 200
        for _ in 0..<10 { XCTAssertTrue(frame(judge, sequence, short: 0.1).alarms.isEmpty); sequence += 1 }
        XCTAssertLessThan(judge.thresholds[1], 0.9)
        let again = climbToCeiling(judge, from: &sequence)
        var count = 0
        for i in sequence..<(sequence + 100) { count += frame(judge, i, short: 0.899).alarms.count }
        XCTAssertEqual(count, 1)
        XCTAssertGreaterThan(again, reached)
    }

    func testDriftClockSurvivesRestart() throws {
        let settings = settings(window: 10, minSamples: 10, drift: 60)
        let first = try CameraJudge(cameraID: "cam", classNames: names, settings: settings)
        var sequence: UInt64 = 0
        let reached = climbToCeiling(first, from: &sequence)
        for _ in 0..<30 { XCTAssertTrue(frame(first, sequence, short: 0.899).alarms.isEmpty); sequence += 1 }
        let second = try CameraJudge(cameraID: "cam", classNames: names, settings: settings, state: first.thresholdState)
        var firedAt: UInt64?
        for i in sequence..<(sequence + 60) where firedAt == nil {
            if !frame(second, i, short: 0.899).alarms.isEmpty { firedAt = i }
        }
        XCTAssertEqual(firedAt, reached + 60)
    }
}

extension AdaptiveThresholdTests {
    func testSmallMovesAreHeldBackByMinChange() throws {
        let judge = try CameraJudge(cameraID: "cam", classNames: names, settings: settings(window: 10, minSamples: 10))
        for i in 0..<10 { _ = frame(judge, UInt64(i), short: 0.25) }
        XCTAssertEqual(judge.thresholds[1], 0.35, accuracy: 1e-6)
        // 0.255 moves the target to 0.355: less than min_change 0.01, so the threshold in force stays.
        var changes = 0
        for i in 10..<20 { changes += frame(judge, UInt64(i), short: 0.255).thresholdChanges.count }
        XCTAssertEqual(changes, 0)
        XCTAssertEqual(judge.thresholds[1], 0.35, accuracy: 1e-6)
        // 0.27 moves it by 0.02: one change.
        for i in 20..<30 { changes += frame(judge, UInt64(i), short: 0.27).thresholdChanges.count }
        XCTAssertEqual(changes, 1)
        XCTAssertEqual(judge.thresholds[1], 0.37, accuracy: 1e-6)
    }
}
