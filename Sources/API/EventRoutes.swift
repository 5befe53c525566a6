import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// `GET /api/v1/events`: Server-Sent Events of what the station records: NG and ERROR inspections (`inspection`),
/// OK ones as counts (`ok`), alarms, camera up/down, threshold changes, reloads and start/stop. Each event's
/// `id:` is an `EventCursor`; `Last-Event-ID` (or `?last_event_id=` for clients that cannot set headers) resumes
/// after it, from the audit database, so a client that reconnects misses nothing still on record and gets
/// nothing twice. Without one the stream starts at the newest record (only what happens from now on).
///
/// The stream polls the audit database (every 250 ms, through `StationAPI`) after the last id it sent, rather
/// than listening on an in-memory bus fed by the recorder: the database is the one ordered, durable record, so
/// live events and resumed ones come from the same query and cannot disagree; a bus would need its own replay
/// buffer and a hand-over to the database on reconnect, with its own gaps and duplicates. A poll of two
/// indexed "id > n" ranges costs microseconds, and the latency (≤ 250 ms + the audit batch interval) is far
/// below what a person at the line notices.
///
/// A client holds at most one batch (`batchRows` rows of each table, encoded) plus NIO's write buffer: the
/// stream reads the next batch only once the last was written. A client that accepts no data for
/// `stallLimit` while some waits (it stopped reading, or its network is gone without a reset) is cut off and
/// counted (`StationAPI.eventClientCut`); it can reconnect with its `Last-Event-ID` and lose nothing. A comment
/// line every `heartbeat` keeps proxies from closing an idle stream and lets a client see the server is alive.
struct EventRoutes: Sendable {
    let station: any StationAPI

    /// Rows of each audit table read per poll.
    static let batchRows = 100
    /// Pause between polls that found nothing new.
    static let pollInterval: Duration = .milliseconds(250)
    /// A comment line after this long without an event.
    static let heartbeat: Duration = .seconds(15)
    /// A write that has not completed after this long cuts the client off.
    static let stallLimit: Duration = .seconds(10)

    func add(to router: Router<BasicRequestContext>) {
        let station = self.station
        router.group("/api/v1").get("/events") { request, _ in
            let given = request.headers[.init("Last-Event-ID")!]
                ?? request.uri.queryParameters["last_event_id"].map(String.init)
            let start: EventCursor
            if let given, !given.isEmpty {
                guard let cursor = EventCursor(token: given) else {
                    throw APIError(.badRequest, "bad_request", "Last-Event-ID: '\(given.prefix(80))' is not an event id of "
                                   + "this stream (INSPECTION-EVENT, e.g. 1520-37; 0-0 replays everything on record)")
                }
                start = cursor
            } else {
                start = try station.eventHead()
            }
            var headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store"]
            headers[.init("X-Accel-Buffering")!] = "no"  // nginx: pass events on as they come
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await Self.stream(station: station, from: start, to: &writer)
            })
        }
    }

    /// Writes the events after `start` until the client goes, the server stops or the client stalls.
    static func stream(station: any StationAPI, from start: EventCursor, to writer: inout any ResponseBodyWriter)
        async throws {
        let box = WriterBox(writer), progress = Progress()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.pump(station: station, from: start, box: box, progress: progress) }
                group.addTask {
                    // The watchdog: ends the group (cancelling the suspended write) when a write stalls.
                    while true {
                        try await Task.sleep(for: .seconds(1))
                        if let since = progress.writingFor(), since > stallLimit {
                            station.eventClientCut()
                            throw SlowClient()
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
            return  // the server is stopping
        }
        try await writer.finish(nil)
    }

    /// Reads batches after `start` and writes them, with heartbeats between; returns when the server shuts
    /// down or the audit database cannot be read (the client then reconnects with its last id).
    private static func pump(station: any StationAPI, from start: EventCursor, box: WriterBox, progress: Progress)
        async throws {
        let clock = ContinuousClock()
        var cursor = start, lastWrite = clock.now
        var hello = ByteBuffer(string: ": inspectd events after \(start.token)\nretry: 2000\n\n")
        try await progress.writing { try await box.writer.write(hello) }
        hello.clear()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let events: [StationEvent]
            do { events = try station.events(after: cursor, limit: batchRows) } catch {
                let text = (error as? APIError)?.detail ?? "\(error)"
                let line = ByteBuffer(string: ": \(text.replacingOccurrences(of: "\n", with: " "))\n\n")
                try await progress.writing { try await box.writer.write(line) }
                return
            }
            if events.isEmpty {
                if clock.now - lastWrite >= heartbeat {
                    try await progress.writing { try await box.writer.write(ByteBuffer(string: ": heartbeat\n\n")) }
                    lastWrite = clock.now
                }
                try await Task.sleep(for: pollInterval)
                continue
            }
            var buffer = ByteBuffer()
            for e in events {
                buffer.writeString("id: \(e.cursor.token)\nevent: \(e.type)\ndata: ")
                buffer.writeBytes(e.data)
                buffer.writeString("\n\n")
            }
            let batch = buffer
            try await progress.writing { try await box.writer.write(batch) }
            cursor = events[events.count - 1].cursor
            lastWrite = clock.now
        }
    }

    /// The response writer, handed to the pump task. Only that task uses it while the group runs; the route
    /// finishes its own copy after the group ended, so it is never used by two tasks at once.
    private final class WriterBox: @unchecked Sendable {
        var writer: any ResponseBodyWriter
        init(_ writer: any ResponseBodyWriter) { self.writer = writer }
    }

    /// Since when the current write waits (for the watchdog).
    private final class Progress: Sendable {
        private let start = ContinuousClock.now
        /// Nanoseconds after `start` when the pending write began; -1: none pending.
        private let since = Atomic<Int64>(-1)

        func writing(_ body: () async throws -> Void) async throws {
            let elapsed = ContinuousClock.now - start
            since.store(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000,
                        ordering: .relaxed)
            defer { since.store(-1, ordering: .relaxed) }
            try await body()
        }

        /// How long the pending write has waited (nil: none pending).
        func writingFor() -> Duration? {
            let s = since.load(ordering: .relaxed)
            guard s >= 0 else { return nil }
            return (ContinuousClock.now - start) - .nanoseconds(s)
        }
    }

    /// The client stopped reading.
    private struct SlowClient: Error {}
}
