import Engine
import XCTest

/// The model identity (and the daemon's config revision) is SHA-256 (swift-crypto) spelled as lower-case hex.
final class SHA256Tests: XCTestCase {
    func testMatchesKnownDigests() {
        XCTAssertEqual(ContentHash.sha256Hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(ContentHash.sha256Hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 1000 bytes: several blocks, padding across a block boundary.
        XCTAssertEqual(ContentHash.sha256Hex([UInt8](repeating: 0x61, count: 1000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }
}
