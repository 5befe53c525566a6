import Foundation
import XCTest
@testable import Daemon

/// The systemd notify protocol against a test socket, and the watchdog's progress rule.
final class LifecycleTests: XCTestCase {
    func testNotifyReachesAbstractAndPathSockets() throws {
        for abstract in [true, false] {
            let socket = try NotifySocket(abstract: abstract)
            let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path])
            notifier.ready(status: "inspecting 1 camera")
            XCTAssertEqual(socket.receive(timeout: 2), "READY=1\nSTATUS=inspecting 1 camera")
            notifier.reloading()
            let reload = try XCTUnwrap(socket.receive(timeout: 2)).split(separator: "\n")
            XCTAssertEqual(reload.first, "RELOADING=1")
            let usec = try XCTUnwrap(reload.first { $0.hasPrefix("MONOTONIC_USEC=") }?.dropFirst(15)).description
            let now = SystemdNotifier.monotonicMicroseconds()
            XCTAssertLessThanOrEqual(try XCTUnwrap(UInt64(usec)), now)
            notifier.stopping()
            XCTAssertEqual(socket.receive(timeout: 2)?.split(separator: "\n").first, "STOPPING=1")
        }
    }

    func testWithoutNotifySocketNothingIsSent() {
        let notifier = SystemdNotifier(environment: [:])
        XCTAssertNil(notifier.socketPath)
        XCTAssertFalse(notifier.notify(["READY=1"]))
        XCTAssertNil(notifier.watchdogTimeout)
    }

    func testWatchdogTimeoutHonoursWatchdogPid() {
        let mine = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "4000000",
                                                 "WATCHDOG_PID": String(getpid())])
        XCTAssertEqual(mine.watchdogTimeout, .seconds(4))
        let other = SystemdNotifier(environment: ["NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "4000000",
                                                  "WATCHDOG_PID": "1"])
        XCTAssertNil(other.watchdogTimeout)
    }

    func testWatchdogPingsOnlyWhileMakingProgress() throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(60))
        let watchdog = try XCTUnwrap(Watchdog(notifier: notifier, isMakingProgress: { health.isMakingProgress() }))
        defer { watchdog.cancel() }
        XCTAssertEqual(socket.receive(timeout: 2), "WATCHDOG=1", "idle pipeline: pings")
        health.frameAccepted()  // a frame waits and never finishes: the pings stop
        while socket.receive(timeout: 0.3) != nil {}
        XCTAssertNil(socket.receive(timeout: 0.5), "stalled pipeline: no ping")
        health.frameFinished()
        XCTAssertEqual(socket.receive(timeout: 2), "WATCHDOG=1", "progress again: pings")
    }

    func testHealthReportsStallAndCameraDown() {
        final class FakeClock: @unchecked Sendable { var now: UInt64 = 1_000_000_000 }
        let clock = FakeClock()
        let health = PipelineHealth(cameraDownLimit: .seconds(5), stallLimit: .seconds(10), clock: { clock.now })
        health.setCameras(["cam1", "cam2"])
        health.camera("cam1", .up); health.camera("cam2", .up)
        XCTAssertEqual(health.report().status, "ok")
        health.camera("cam2", .down, reason: "ENODEV")
        health.frameAccepted()
        clock.now += 6_000_000_000
        XCTAssertEqual(health.report().problems, ["camera cam2 down for 6 s: ENODEV"])
        clock.now += 5_000_000_000
        XCTAssertEqual(health.report().problems.count, 2)
        XCTAssertTrue(health.report().problems[1].hasPrefix("pipeline stalled: 1 frames waiting"))
        health.camera("cam2", .up); health.frameFinished()
        XCTAssertEqual(health.report().status, "ok")
    }
}
