/// What the MQTT client is doing, reported to the daemon (health endpoint, logs).
public enum MQTTConnectionState: Sendable, Equatable {
    /// Trying to connect (first attempt or after a failure).
    case connecting
    /// Connected; the outbox is being delivered.
    case connected
    /// Not connected; `reason` says why in one line (refused credentials, TLS, network).
    case disconnected(reason: String)
}
