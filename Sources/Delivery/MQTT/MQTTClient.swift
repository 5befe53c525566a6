import CMosquitto
import Foundation
import Logging
import Threading

/// The broker connection over libmosquitto: connects, keeps reconnecting with back-off (a refused password or a
/// TLS failure is logged and retried, never fatal), keeps the retained `online`/`offline` station status and the
/// Last Will, and reports PUBACKs. It does not decide what to publish: ``OutboxPublisher`` does.
///
/// libmosquitto 2.0.11's `loop_start` thread dies for good on fatal errors (auth, TLS), so this client runs
/// `mosquitto_loop_forever` on its own thread inside a retry loop.
///
/// Thread-safety invariant: mutable fields are touched only with `condition` locked; C callbacks reach `self`
/// through unretained user data, valid because `self` outlives the loop thread (``stop(timeout:)`` joins it and
/// the thread's closure holds a strong reference).
public final class MQTTClient: @unchecked Sendable {
    /// Called with a message id and its PUBACK reason code (0 for MQTT 3.1.1; below 0x80 is success).
    typealias AckHandler = @Sendable (_ mid: Int32, _ reasonCode: Int32) -> Void
    /// Called on every connection state change.
    typealias StateHandler = @Sendable (MQTTConnectionState) -> Void

    /// Outcome of handing one message to libmosquitto.
    enum PublishResult: Equatable {
        /// Queued for sending with this message id.
        case queued(mid: Int32)
        /// Not connected: nothing was handed to libmosquitto.
        case notConnected
        /// libmosquitto refused it (e.g. payload too large): code and text.
        case failed(code: Int32, message: String)
    }

    let settings: MQTTSettings
    private let logger: Logger
    private let statusOnline: @Sendable () -> OutgoingMessage
    private let statusOffline: @Sendable () -> OutgoingMessage
    private let onAck: AckHandler
    private let onState: StateHandler
    private let onMessage: (@Sendable (MQTTInboundMessage) -> Void)?
    private var handle: MosquittoHandle?
    private let condition = NSCondition()
    private var connected = false
    private var stopping = false
    private let thread = LoopThread(name: "mqtt-loop")
    private var lastReason = ""
    /// The broker's CONNACK refusal during the current attempt (wrong password...): it explains the loop's exit
    /// better than libmosquitto's return code, which is then a generic protocol error.
    private var refusal: String?
    private var stopMid: Int32?
    private var stopAcked = false

    /// Validates `settings` (throws ``MQTTError`` naming each bad setting) and sets up the client.
    /// `online`/`offline` make the retained `{prefix}/status` messages (`offline` is also the Last Will).
    init(settings: MQTTSettings, online: @escaping @Sendable () -> OutgoingMessage,
         offline: @escaping @Sendable () -> OutgoingMessage, logger: Logger,
         onAck: @escaping AckHandler, onState: @escaping StateHandler,
         onMessage: (@Sendable (MQTTInboundMessage) -> Void)? = nil) throws {
        let problems = settings.problems()
        guard problems.isEmpty else { throw MQTTError(problems: problems) }
        self.settings = settings; self.logger = logger; self.statusOnline = online; self.statusOffline = offline
        self.onAck = onAck; self.onState = onState; self.onMessage = onMessage
        guard let handle = MosquittoHandle(clientID: settings.clientID,
                                           userData: Unmanaged.passUnretained(self).toOpaque()) else {
            throw MQTTError(problems: ["mqtt: libmosquitto could not create a client (out of memory?)"])
        }
        self.handle = handle
        try configure(handle.raw)
    }

    private func configure(_ mosq: OpaquePointer) throws {
        var problems: [String] = []
        func check(_ rc: Int32, _ what: String) {
            if rc != MOSQ_ERR_SUCCESS.rawValue { problems.append("mqtt: \(what): \(String(cString: mosquitto_strerror(rc)))") }
        }
        let version = settings.protocolVersion == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        check(mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, Int32(version)), "protocol version")
        check(mosquitto_int_option(mosq, MOSQ_OPT_SEND_MAXIMUM, Int32(settings.inflightWindow)), "inflight window")
        // Nagle's algorithm held a small PUBLISH back until the broker's delayed ACK of the previous one (about 40 ms
        // on Linux): a triggered part's result waited that long (`bench trigger`, MQTT). The broker's side of the
        // connection is its own setting (mosquitto.conf `set_tcp_nodelay true`, see README "Connecting a PLC").
        check(mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1), "TCP_NODELAY")
        check(mosquitto_reconnect_delay_set(mosq, UInt32(max(1, settings.retryDelayMin)),
                                            UInt32(max(1, settings.retryDelayMax)), true), "reconnect delay")
        if let user = settings.username {
            var password: String?
            if let file = settings.passwordFile {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw MQTTError(problems: ["mqtt.password_file: \(file) cannot be read"])
                }
                password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
                    .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            }
            check(mosquitto_username_pw_set(mosq, user, password), "username/password")
        }
        if let tls = settings.tls {
            check(mosquitto_tls_set(mosq, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "tls files")
            // The broker's certificate chain is always verified against the CA (1 = SSL_VERIFY_PEER); `insecure`
            // skips only the host name check, as documented (verify mode 0 would accept any certificate).
            check(mosquitto_tls_opts_set(mosq, 1, nil, nil), "tls options")
            check(mosquitto_tls_insecure_set(mosq, !tls.verifyHostName), "tls host name check")
        }
        check(setWill(mosq), "last will")
        guard problems.isEmpty else { throw MQTTError(problems: problems) }

        mosquitto_connect_v5_callback_set(mosq) { _, user, rc, _, _ in
            guard let user else { return }
            Unmanaged<MQTTClient>.fromOpaque(user).takeUnretainedValue().handleConnect(rc)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, user, rc, _ in
            guard let user else { return }
            Unmanaged<MQTTClient>.fromOpaque(user).takeUnretainedValue().handleDisconnect(rc)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, user, mid, reason, _ in
            guard let user else { return }
            Unmanaged<MQTTClient>.fromOpaque(user).takeUnretainedValue().handlePublished(mid, reason)
        }
        mosquitto_message_v5_callback_set(mosq) { _, user, message, props in
            guard let user, let message else { return }
            Unmanaged<MQTTClient>.fromOpaque(user).takeUnretainedValue().handleMessage(message.pointee, props)
        }
        mosquitto_log_callback_set(mosq) { _, user, level, text in
            guard let user, let text else { return }
            Unmanaged<MQTTClient>.fromOpaque(user).takeUnretainedValue().handleLog(level, String(cString: text))
        }
    }

    /// Sets the Last Will (retained `offline`) with a fresh event id: called before every connection, so each
    /// connection's will is a new event that subscribers do not drop as a duplicate of the last one.
    @discardableResult
    private func setWill(_ mosq: OpaquePointer) -> Int32 {
        let will = statusOffline()
        return will.payload.withUnsafeBytes { bytes in
            mosquitto_will_set(mosq, will.topic, Int32(bytes.count), bytes.baseAddress, 1, true)
        }
    }

    /// Starts the connection thread. The first connection failing is not an error: it is retried.
    func start() {
        guard let handle else { return }
        thread.start { [self] in self.runLoop(handle) }
    }

    /// Publishes the retained `offline` status (waiting up to 2 s for its PUBACK), disconnects and joins the
    /// loop thread.
    func stop(timeout: TimeInterval = 5) {
        guard let handle else { return }
        condition.lock()
        stopping = true
        let wasConnected = connected
        condition.broadcast()
        condition.unlock()
        if wasConnected {
            let offline = statusOffline()
            var mid: Int32 = 0
            condition.lock(); stopAcked = false; condition.unlock()
            let rc = offline.payload.withUnsafeBytes { bytes in
                mosquitto_publish(handle.raw, &mid, offline.topic, Int32(bytes.count), bytes.baseAddress, 1, true)
            }
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                condition.lock()
                stopMid = mid
                let deadline = Date(timeIntervalSinceNow: 2)
                while !stopAcked && connected { if !condition.wait(until: deadline) { break } }
                condition.unlock()
            }
        }
        mosquitto_disconnect(handle.raw)
        if !thread.join(until: Date(timeIntervalSinceNow: timeout)) {
            logger.warning("mqtt: connection thread did not stop within \(timeout) s (blocked in connect?)")
        }
    }

    /// True while the broker has accepted the connection.
    var isConnected: Bool {
        condition.lock(); defer { condition.unlock() }
        return connected
    }

    /// The last connection problem in one line (empty when none yet).
    var lastProblem: String {
        condition.lock(); defer { condition.unlock() }
        return lastReason
    }

    /// Hands one message to libmosquitto — only while connected: a publish while disconnected would be queued
    /// in libmosquitto's memory and sent again after reconnect, duplicating the outbox's own re-send.
    func publish(_ topic: String, _ payload: Data, qos: Int32, retained: Bool, correlation: Data? = nil) -> PublishResult {
        guard let handle, isConnected else { return .notConnected }
        var mid: Int32 = 0
        var props: OpaquePointer? = nil
        if let correlation, settings.protocolVersion == .v5 {
            _ = correlation.withUnsafeBytes { c in
                mosquitto_property_add_binary(&props, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), c.baseAddress,
                                              UInt16(clamping: c.count))
            }
        }
        defer { mosquitto_property_free_all(&props) }
        let rc = payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(handle.raw, &mid, topic, Int32(bytes.count), bytes.baseAddress, qos, retained, props)
        }
        if rc == MOSQ_ERR_SUCCESS.rawValue { return .queued(mid: mid) }
        // The connection dropped just now: a QoS ≥ 1 message is still queued in libmosquitto's memory, which
        // sends it after the reconnect, so it is in flight under `mid` (re-publishing it would duplicate it).
        if rc == MOSQ_ERR_NO_CONN.rawValue { return qos > 0 && mid != 0 ? .queued(mid: mid) : .notConnected }
        return .failed(code: rc, message: String(cString: mosquitto_strerror(rc)))
    }

    // MARK: the loop thread

    private var endpoint: String { "\(settings.host):\(settings.port)" }

    private func runLoop(_ handle: MosquittoHandle) {
        var delay = settings.retryDelayMin
        while !isStopping {
            report(.connecting)
            condition.lock(); refusal = nil; condition.unlock()
            var props: OpaquePointer? = nil
            if settings.protocolVersion == .v5 {
                mosquitto_property_add_int32(&props, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), settings.sessionExpiry)
            }
            let started = Date()
            setWill(handle.raw)
            var rc = mosquitto_connect_bind_v5(handle.raw, settings.host, Int32(settings.port), Int32(settings.keepalive),
                                               nil, props)
            mosquitto_property_free_all(&props)
            if rc == MOSQ_ERR_SUCCESS.rawValue {
                rc = mosquitto_loop_forever(handle.raw, 1000, 1)
                if isStopping { break }
                if Date().timeIntervalSince(started) > 60 { delay = settings.retryDelayMin }
            }
            let reason = describe(rc)
            condition.lock(); connected = false; lastReason = reason; condition.unlock()
            logger.error("mqtt: no connection to \(endpoint): \(reason); retrying in \(Int(delay)) s")
            report(.disconnected(reason: reason))
            sleep(delay)
            delay = min(delay * 2, settings.retryDelayMax)
        }
        condition.lock(); connected = false; condition.broadcast(); condition.unlock()
        report(.disconnected(reason: "stopped"))
    }

    private var isStopping: Bool {
        condition.lock(); defer { condition.unlock() }
        return stopping
    }

    private func sleep(_ seconds: Double) {
        condition.lock(); defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !stopping { if !condition.wait(until: deadline) { break } }
    }

    /// One line for the log: libmosquitto's error, plus the broker's refusal or the TLS error seen just before.
    private func describe(_ rc: Int32) -> String {
        condition.lock(); let last = lastReason; let refused = refusal; condition.unlock()
        if let refused { return refused }
        var text = String(cString: mosquitto_strerror(rc))
        if rc == MOSQ_ERR_ERRNO.rawValue { text = String(cString: strerror(errno)) }
        if rc == MOSQ_ERR_TLS.rawValue || rc == MOSQ_ERR_TLS_HANDSHAKE.rawValue {
            text += " (check mqtt.tls.ca_file matches the broker certificate, host name and client certificate)"
        }
        if rc == MOSQ_ERR_CONN_REFUSED.rawValue || rc == MOSQ_ERR_AUTH.rawValue, !last.isEmpty { return last }
        return text
    }

    private func report(_ state: MQTTConnectionState) { onState(state) }

    // MARK: callbacks (on the loop thread)

    private func handleConnect(_ rc: Int32) {
        if rc != 0 {
            let why = settings.protocolVersion == .v5 ? String(cString: mosquitto_reason_string(rc))
                                                      : String(cString: mosquitto_connack_string(rc))
            var line = "broker refused the connection: \(why)"
            if rc == 5 || rc == 4 || rc == 0x86 || rc == 0x87 || rc == 0x8C {
                line += " (check mqtt.username and mqtt.password_file)"
            }
            condition.lock(); lastReason = line; refusal = line; condition.unlock()
            return
        }
        condition.lock(); connected = true; lastReason = ""; condition.unlock()
        logger.notice("mqtt: connected to \(endpoint) as \(settings.clientID)")
        if let handle {
            for topic in settings.subscriptions {
                let rc = mosquitto_subscribe(handle.raw, nil, topic, 1)
                if rc != MOSQ_ERR_SUCCESS.rawValue {
                    logger.error("mqtt: cannot subscribe to \(topic): \(String(cString: mosquitto_strerror(rc)))")
                }
            }
            let online = statusOnline()
            _ = online.payload.withUnsafeBytes { bytes in
                mosquitto_publish(handle.raw, nil, online.topic, Int32(bytes.count), bytes.baseAddress, 1, true)
            }
        }
        report(.connected)
    }

    private func handleDisconnect(_ rc: Int32) {
        condition.lock()
        let was = connected
        connected = false
        condition.broadcast()
        condition.unlock()
        // loop_forever reconnects by itself after a lost connection: give that connection a fresh will too.
        if let handle { setWill(handle.raw) }
        guard was else { return }
        if rc == 0 { report(.disconnected(reason: "disconnected")); return }
        let reason = "connection lost (\(String(cString: mosquitto_strerror(rc))))"
        condition.lock(); lastReason = reason; condition.unlock()
        logger.warning("mqtt: \(endpoint): \(reason); reconnecting")
        report(.disconnected(reason: reason))
    }

    private func handleMessage(_ m: mosquitto_message, _ props: OpaquePointer?) {
        guard let onMessage, let topic = m.topic.map({ String(cString: $0) }) else { return }
        let payload = m.payload.map { Data(bytes: $0, count: Int(m.payloadlen)) } ?? Data()
        var responseTopic: String?
        var text: UnsafeMutablePointer<CChar>? = nil
        if mosquitto_property_read_string(props, Int32(MQTT_PROP_RESPONSE_TOPIC.rawValue), &text, false) != nil, let text {
            responseTopic = String(cString: text)
            free(text)
        }
        var correlation: Data?
        var bytes: UnsafeMutableRawPointer? = nil
        var length: UInt16 = 0
        if mosquitto_property_read_binary(props, Int32(MQTT_PROP_CORRELATION_DATA.rawValue), &bytes, &length, false) != nil,
           let bytes {
            correlation = Data(bytes: bytes, count: Int(length))
            free(bytes)
        }
        onMessage(MQTTInboundMessage(topic: topic, payload: payload, responseTopic: responseTopic, correlationData: correlation))
    }

    private func handlePublished(_ mid: Int32, _ reason: Int32) {
        condition.lock()
        if let stopMid, stopMid == mid { stopAcked = true; condition.broadcast() }
        condition.unlock()
        onAck(mid, reason)
    }

    private func handleLog(_ level: Int32, _ text: String) {
        if level & Int32(MOSQ_LOG_ERR) != 0 {
            condition.lock(); lastReason = text; condition.unlock()
            logger.error("mqtt: \(text)")
        } else if level & Int32(MOSQ_LOG_WARNING) != 0 {
            logger.warning("mqtt: \(text)")
        }
    }
}
