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

    /// Each period is one `tick()` (no timer): the rule is checked without wall-clock timing. A ping is a
    /// datagram sent before `tick` returns, so it is already in the socket when looked for.
    func testWatchdogPingsOnlyWhileMakingProgress() throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
        let health = PipelineHealth(cameraDownLimit: .seconds(60), stallLimit: .seconds(60))
        let watchdog = try XCTUnwrap(Watchdog(notifier: notifier, timer: false, isMakingProgress: { health.isMakingProgress() }))
        XCTAssertTrue(watchdog.tick(), "idle pipeline: pings")
        XCTAssertEqual(socket.receive(timeout: 0), "WATCHDOG=1")
        health.frameAccepted()  // a frame waits and never finishes: the pings stop
        XCTAssertFalse(watchdog.tick(), "stalled pipeline: no ping")
        XCTAssertFalse(watchdog.tick(), "still stalled: no ping")
        XCTAssertNil(socket.receive(timeout: 0), "nothing was sent while stalled")
        health.frameFinished()
        XCTAssertTrue(watchdog.tick(), "progress again: pings")
        XCTAssertEqual(socket.receive(timeout: 0), "WATCHDOG=1")
    }

    /// The timer drives the same tick: a real watchdog pings on its own (a generous limit, not a timing check).
    func testWatchdogTimerPings() throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "200000"])
        let watchdog = try XCTUnwrap(Watchdog(notifier: notifier, isMakingProgress: { true }))
        defer { watchdog.cancel() }
        XCTAssertEqual(socket.receive(timeout: 30), "WATCHDOG=1")
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
