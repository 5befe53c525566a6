import Engine
import Foundation
import Imaging

/// Why a captured frame was not judged: the `reason` label of `inspectd_frame_errors_total`. Every frame a
/// worker takes is either judged or counted under one of these, never judged OK by default.
enum FrameFailure: String, Sendable, CaseIterable {
    /// libjpeg-turbo decoded it only with a warning: truncated or damaged data.
    case truncatedJPEG = "truncated_jpeg"
    /// Not a decodable JPEG (or PNG) at all.
    case corruptJPEG = "corrupt_jpeg"
    /// Fewer bytes than the frame's size and pixel format need.
    case shortBuffer = "short_buffer"
    /// Zero size, or larger than the buffers allow.
    case wrongSize = "wrong_size"
    /// A pixel layout the preprocessor cannot use.
    case unsupportedFormat = "unsupported_format"
    /// The engine or the post-processing failed on it.
    case inference

    /// The reason for `error` thrown by `FrameInspector.inspect`.
    init(_ error: Error) {
        switch error as? ImagingError {
        case .damagedJPEG?: self = .truncatedJPEG
        case .corruptJPEG?, .corruptPNG?, .unreadableFile?, .codecFailure?: self = .corruptJPEG
        case .shortData?: self = .shortBuffer
        case .zeroSize?, .tooLarge?: self = .wrongSize
        case .unsupportedFormat?: self = .unsupportedFormat
        case nil: self = .inference
        }
    }
}
