import CMosquitto

/// Owns one `struct mosquitto *`.
///
/// Invariants that make sharing it across threads sound (hence `@unchecked Sendable`):
/// - created once in `init` with `mosquitto_threaded_set(true)`, destroyed once in `deinit`, never replaced;
/// - only `mosquitto_loop_forever` and `mosquitto_connect*` run on the client's loop thread; other threads call
///   only the calls libmosquitto documents as thread-safe in threaded mode (`mosquitto_publish`,
///   `mosquitto_disconnect`);
/// - the owner keeps this object alive until the loop thread has returned.
final class MosquittoHandle: @unchecked Sendable {
    let raw: OpaquePointer

    private static let libraryReady: Bool = { mosquitto_lib_init() == MOSQ_ERR_SUCCESS.rawValue }()

    /// Nil when libmosquitto cannot allocate a client.
    init?(clientID: String, userData: UnsafeMutableRawPointer) {
        guard Self.libraryReady, let raw = mosquitto_new(clientID, false, userData) else { return nil }
        self.raw = raw
        mosquitto_threaded_set(raw, true)
    }

    deinit { mosquitto_destroy(raw) }
}
