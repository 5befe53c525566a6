import Foundation

/// A `mosquitto_sub` process with a persistent session (`-c`, QoS 1) that records every message it receives,
/// so messages published while it is reconnecting are still delivered to it by the broker.
public final class MosquittoSubscriber {
    public struct Message { public var topic: String; public var payload: String }

    private let process = Process()
    private let output: URL

    /// Subscribes to `topic` on `broker` with client id `clientID`.
    /// With `appendingTo`, resumes an earlier subscriber's session and keeps adding to its record.
    public init(broker: MosquittoBroker, topic: String, clientID: String, directory: URL,
         appendingTo previous: MosquittoSubscriber? = nil) throws {
        output = previous?.output ?? directory.appendingPathComponent("sub-\(clientID).log")
        if previous == nil { _ = FileManager.default.createFile(atPath: output.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: output)
        handle.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: try TestProcess.resolve("mosquitto_sub"))
        process.arguments = broker.clientArguments() + ["-t", topic, "-q", "1", "-c", "-i", clientID, "-v",
                                                         "-V", "mqttv311", "--keepalive", "5"]
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Messages received so far (lines `topic payload`).
    public var messages: [Message] {
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { (line: Substring) -> Message? in
            let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return Message(topic: String(parts[0]), payload: String(parts[1]))
        }
    }

    /// Waits until `condition` holds for the received messages or `timeout` passes; returns the messages.
    @discardableResult
    public func wait(timeout: TimeInterval, until condition: ([Message]) -> Bool) -> [Message] {
        let deadline = Date(timeIntervalSinceNow: timeout)
        var current = messages
        while !condition(current) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            current = messages
        }
        return current
    }

    /// Raw output (for failure messages).
    public var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// False once mosquitto_sub has exited.
    public var isRunning: Bool { process.isRunning }

    public func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    deinit { stop() }
}
