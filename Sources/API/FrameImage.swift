import Foundation

/// `GET /api/v1/cameras/{id}/frame.jpg`: a camera's latest frame as JPEG, with which frame it is.
public struct FrameImage: Sendable {
    /// The JPEG bytes.
    public var jpeg: Data
    /// The camera's frame sequence number and capture time (answered as `X-Frame-Sequence` and
    /// `X-Frame-Captured-At`, so a client polling the image knows whether it changed).
    public var sequence: UInt64
    public var captureTime: Date
    /// Plain memberwise initializer.
    public init(jpeg: Data, sequence: UInt64, captureTime: Date) {
        self.jpeg = jpeg; self.sequence = sequence; self.captureTime = captureTime
    }
}
