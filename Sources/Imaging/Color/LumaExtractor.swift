import Foundation

/// Any frame's luma (brightness) plane at full size, as golden-board inspection aligns and composes it:
/// a JPEG decoded straight to grey by libjpeg-turbo (its Y, 0.299 R + 0.587 G + 0.114 B), `.gray8` copied,
/// `.yuyv`/`.nv12` their Y samples, `.rgb24` weighted as JPEG's Y. One per worker: it owns its decoder;
/// the output buffer is the caller's and is reused while it is large enough. Not thread-safe.
public final class LumaExtractor {
    private let decoder: JPEGDecoder

    /// Makes an extractor with its own JPEG decoder.
    public init() throws { decoder = try JPEGDecoder() }

    /// Writes the luma of `frame` into `output` (grown when too small) as `.gray8` and returns the buffer used
    /// and libjpeg-turbo's warning for a damaged but decodable JPEG. Throws `ImagingError` for a corrupt JPEG or
    /// a raw frame shorter than its size says.
    public func extract(_ frame: PixelBuffer, into output: PixelBuffer?) throws -> (luma: PixelBuffer, warning: String?) {
        if frame.format == .jpeg {
            let (w, h) = try decoder.header(frame.contents)
            let out = output.flatMap { $0.capacity >= w * h ? $0 : nil } ?? PixelBuffer(capacity: max(1, w * h))
            let outcome = try decoder.decode(frame.contents, into: out, format: .gray8)
            return (out, outcome.warning)
        }
        try ColorConversion.validate(frame)
        let w = frame.width, h = frame.height
        let out = output.flatMap { $0.capacity >= w * h ? $0 : nil } ?? PixelBuffer(capacity: max(1, w * h))
        let src = frame.bytes.assumingMemoryBound(to: UInt8.self), dst = out.bytes.assumingMemoryBound(to: UInt8.self)
        switch frame.format {
        case .gray8, .nv12:
            dst.update(from: src, count: w * h)
        case .yuyv:
            for i in 0..<(w * h) { dst[i] = src[2 * i] }
        case .rgb24:
            // libjpeg's RGB → Y in fixed point (jccolor.c: 16-bit fractions, rounded)
            for i in 0..<(w * h) {
                let r = Int(src[3 * i]), g = Int(src[3 * i + 1]), b = Int(src[3 * i + 2])
                dst[i] = UInt8((19595 * r + 38470 * g + 7471 * b + 32768) >> 16)
            }
        case .jpeg:
            break
        }
        out.width = w; out.height = h; out.format = .gray8; out.byteCount = w * h
        return (out, nil)
    }
}
