import Foundation

/// A message for the broker. It goes into the outbox (in the same transaction as what caused it) before it is
/// ever published, and leaves the `pending` state only on the broker's PUBACK.
public struct OutgoingMessage: Sendable, Equatable, Codable {
    /// The payload's `event_id`; subscribers de-duplicate by it (delivery is at-least-once).
    public var eventID: UUID
    /// Full MQTT topic.
    public var topic: String
    /// JSON payload.
    public var payload: Data
    /// MQTT QoS (1 for everything the plant must not lose).
    public var qos: Int32
    /// Retained on the broker (status topics).
    public var retained: Bool
    /// MQTT v5 correlation data, for the answer to a request that set a response topic (a trigger's result).
    public var correlationData: Data? = nil

    /// Creates a message.
    public init(eventID: UUID, topic: String, payload: Data, qos: Int32 = 1, retained: Bool = false,
                correlationData: Data? = nil) {
        self.eventID = eventID; self.topic = topic; self.payload = payload; self.qos = qos; self.retained = retained
        self.correlationData = correlationData
    }
}
