import Crypto
import Foundation

/// SHA-256 as lower-case hex, for model identity and the daemon's config revision. swift-crypto does the
/// hashing (BoringSSL's assembly on Linux, CryptoKit on Apple systems); this only spells the digest.
public enum ContentHash {
    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex<D: DataProtocol>(_ bytes: D) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](); out.reserveCapacity(64)
        for b in SHA256.hash(data: bytes) { out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
