import XCTest
@testable import Delivery

final class DeliverySmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertTrue(true) }
}
