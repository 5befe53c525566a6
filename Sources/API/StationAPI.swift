import Foundation

/// What the HTTP API needs from the station, and all it may reach: the daemon implements it with a thin adapter
/// (Daemon's `StationFacade`), so the API never sees the pipeline's own types and can be tested apart from it.
/// Every method is called on a server thread and must not block on a camera.
public protocol StationAPI: Sendable {
    /// The Prometheus text exposition served on `/metrics`.
    func metricsExposition() -> String
    /// The `/healthz` document, encoded, and whether it says the station is healthy (200) or failing (503).
    func healthz() -> (healthy: Bool, json: Data)
    /// `GET /api/v1/status`.
    func status() -> StatusDocument
    /// `GET /api/v1/cameras`, sorted by id.
    func cameras() -> [CameraDocument]
    /// `POST /api/v1/detect`: inspects one JPEG or PNG under camera `camera`'s rules (nil: the `detection`
    /// section's), statelessly; with `record` (a camera is then given) it is judged as that camera's next frame
    /// and recorded and published like one, and the answer carries its audit id. Throws `APIError` (404 unknown
    /// camera, 422 unreadable image, 429 busy, 503 camera not running).
    func detect(image: Data, camera: String?, record: Bool) async throws -> DetectAnswer
    /// `POST /api/v1/cameras/{id}/trigger`: the trigger document `body` (JSON: `part_id`, optional `lot`, `order`,
    /// `recipe`, `meta`, `trigger_id`) inspects the part now under camera `camera` (`trigger.mode: software`);
    /// answers once its frame is judged. Throws `APIError` (400 bad document, 404 unknown camera, 409 camera in
    /// free run, 429 trigger queue full, 503 stopping, 504 no frame within the camera's trigger timeout).
    func trigger(camera: String, body: Data) async throws -> TriggerAnswer
    /// A request was refused by `http.auth` (`reason`: missing, unknown or forbidden): counted.
    func authenticationFailed(reason: String)
    /// `GET /api/v1/cameras/{id}/frame.jpg`: camera `camera`'s latest frame as JPEG, with `annotated` its defects
    /// (class, confidence), ROI and masks drawn. Throws `APIError` (404 unknown camera, 503 no frame yet, 429 busy).
    func frame(camera: String, annotated: Bool) async throws -> FrameImage
    /// `GET /api/v1/inspections`: one page of recorded inspections, oldest first. Throws `APIError` (400 bad
    /// cursor, 503 audit database unreadable).
    func inspections(_ query: RecordQuery) throws -> InspectionPage
    /// `GET /api/v1/inspections/{id}`. Throws `APIError` (404 not on record).
    func inspection(id: Int64) throws -> InspectionDocument
    /// The evidence JPEG of inspection `id`, or its annotated copy. Throws `APIError` (404 not on record or no
    /// snapshot kept).
    func snapshot(inspection id: Int64, annotated: Bool) throws -> Data
    /// `GET /api/v1/defects?format=json`: one page of defects, oldest first.
    func defects(_ query: RecordQuery) throws -> DefectPage
    /// One page of `GET /api/v1/defects?format=csv`: CSV lines (the header line first when `header`), how many
    /// defect rows they hold and the cursor of the next page (nil: last page).
    func defectsCSV(_ query: RecordQuery, header: Bool) throws -> (text: String, rows: Int, next: String?)
    /// `GET /api/v1/events`: the feed's position now (the newest ids on record), where a client that gives no
    /// `Last-Event-ID` starts. Throws `APIError` (503 audit database unreadable).
    func eventHead() throws -> EventCursor
    /// `GET /api/v1/events`: what was recorded after `cursor`, in order, at most `limit` rows of each audit table
    /// (OK inspections folded into `ok` counts); empty when nothing new. Throws `APIError` (503).
    func events(after cursor: EventCursor, limit: Int) throws -> [StationEvent]
    /// An event-stream client that stopped reading was cut off: counted.
    func eventClientCut()
    /// `GET /api/v1/trends`: inspections, NG frames and defects per class in `buckets` buckets of `bucketSeconds`
    /// from `since`, of camera `camera` (nil: all). Throws `APIError` (503 audit database unreadable).
    func trends(since: Date, bucketSeconds: Int, buckets: Int, camera: String?) throws -> [TrendsDocument.Bucket]
    /// `GET /api/v1/cameras/{id}/thresholds`: per class of camera `camera`, the threshold each bucket of
    /// `bucketSeconds` from `since` ended with (buckets without a change left out). Throws `APIError` (404
    /// unknown camera, 503 audit database unreadable).
    func thresholdHistory(camera: String, since: Date, bucketSeconds: Int) throws -> [ThresholdHistoryDocument.Series]
}
