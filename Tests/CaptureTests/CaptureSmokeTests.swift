import XCTest
@testable import Capture

final class CaptureSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
