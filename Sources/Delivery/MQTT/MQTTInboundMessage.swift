import Foundation

/// A message the broker delivered on a subscribed topic (a trigger), with the MQTT v5 request/response
/// properties when the sender set them.
public struct MQTTInboundMessage: Sendable, Equatable {
    public var topic: String
    public var payload: Data
    /// Where the sender wants its answer (MQTT v5 response topic).
    public var responseTopic: String?
    /// To be returned with the answer (MQTT v5 correlation data).
    public var correlationData: Data?

    /// Plain memberwise initializer.
    public init(topic: String, payload: Data, responseTopic: String? = nil, correlationData: Data? = nil) {
        self.topic = topic; self.payload = payload; self.responseTopic = responseTopic; self.correlationData = correlationData
    }
}
