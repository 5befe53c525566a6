import Foundation
import Logging
import Synchronization
import XCTest
@testable import Daemon

/// Syslog priority prefixes under systemd, and telling the journal stream from a redirected stderr.
final class JournalLogHandlerTests: XCTestCase {
    /// What the handler wrote, one element per message.
    private final class Lines: Sendable {
        let texts = Mutex<[String]>([])
        var all: [String] { texts.withLock { $0 } }
    }

    private func capture(level: Logger.Level = .trace) -> (Logger, Lines) {
        let lines = Lines()
        let handler = JournalLogHandler(label: "inspectd", logLevel: level) { text in lines.texts.withLock { $0.append(text) } }
        return (Logger(label: "inspectd") { _ in handler }, lines)
    }

    func testEveryLevelGetsItsSyslogPriority() {
        let (logger, lines) = capture()
        logger.trace("t"); logger.debug("d"); logger.info("i"); logger.notice("n")
        logger.warning("w"); logger.error("e"); logger.critical("c")
        XCTAssertEqual(lines.all, ["<7>inspectd: t\n", "<7>inspectd: d\n", "<6>inspectd: i\n",
                                              "<5>inspectd: n\n", "<4>inspectd: w\n", "<3>inspectd: e\n",
                                              "<2>inspectd: c\n"])
    }

    func testLevelFilterMetadataAndMultilineMessages() {
        let (captured, lines) = capture(level: .warning)
        var logger = captured
        logger[metadataKey: "camera"] = "cam1"
        logger.info("dropped below the level")
        logger.warning("camera down", metadata: ["reason": "no frame in 2 s"])
        logger.error("two\nlines")
        XCTAssertEqual(lines.all, ["<4>inspectd: camera down camera=cam1 reason=no frame in 2 s\n",
                                              "<3>inspectd: two\n<3>lines camera=cam1\n"])
    }

    func testJournalStreamMustNameTheDescriptor() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(getpid()).log").path
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(path) }
        var st = stat()
        XCTAssertEqual(fstat(fd, &st), 0)
        let matching = "\(st.st_dev):\(st.st_ino)"
        XCTAssertTrue(JournalLogHandler.isJournalStream(fd: fd, environment: ["JOURNAL_STREAM": matching]))
        // Inherited by a child whose stderr was redirected elsewhere: another inode.
        XCTAssertFalse(JournalLogHandler.isJournalStream(fd: fd, environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino + 1)"]))
        XCTAssertFalse(JournalLogHandler.isJournalStream(fd: fd, environment: [:]))
        XCTAssertFalse(JournalLogHandler.isJournalStream(fd: fd, environment: ["JOURNAL_STREAM": "garbage"]))
        XCTAssertFalse(JournalLogHandler.isJournalStream(fd: -1, environment: ["JOURNAL_STREAM": matching]))
    }
}
