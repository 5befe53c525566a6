import CJPEG
import Foundation

/// Encodes frames to JPEG with libjpeg-turbo (evidence snapshots, synthetic MJPEG frames).
///
/// One encoder per thread: it owns a TurboJPEG handle and an output buffer grown to the largest image seen.
public final class JPEGEncoder {
    private let handle: tjhandle
    private var output: UnsafeMutablePointer<UInt8>?
    private var outputCapacity: UInt = 0
    private var rgbScratch: PixelBuffer?

    /// Creates an encoder. Throws only if libjpeg-turbo cannot allocate its state.
    public init() throws {
        guard let h = tjInitCompress() else { throw ImagingError.codecFailure("tjInitCompress failed") }
        handle = h
    }

    deinit {
        if let o = output { tjFree(o) }
        tjDestroy(handle)
    }

    /// Encodes an `.rgb24` or `.gray8` buffer (YUYV and NV12 are converted to RGB first; `.jpeg` is copied as
    /// is) at `quality` 1...100 and returns the JPEG bytes.
    public func encode(_ pixels: PixelBuffer, quality: Int = 90) throws -> Data {
        var data = Data()
        try encode(pixels, quality: quality) { data = Data($0) }
        return data
    }

    /// Encodes like `encode(_:quality:)` but hands the bytes to `body` without copying them; the bytes are
    /// valid only during the call (the buffer is reused).
    public func encode(_ pixels: PixelBuffer, quality: Int = 90, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        switch pixels.format {
        case .jpeg:
            try body(pixels.contents)
        case .rgb24, .gray8:
            try compress(pixels, quality: quality, body)
        case .yuyv, .nv12:
            let need = pixels.width * pixels.height * 3
            guard need > 0 else { throw ImagingError.zeroSize(width: pixels.width, height: pixels.height) }
            if rgbScratch == nil || rgbScratch!.capacity < need { rgbScratch = PixelBuffer(capacity: need) }
            let rgb = rgbScratch!
            try ColorConversion.toRGB(pixels, into: rgb)
            try compress(rgb, quality: quality, body)
        }
    }

    private func compress(_ pixels: PixelBuffer, quality: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let w = pixels.width, h = pixels.height
        guard w > 0, h > 0 else { throw ImagingError.zeroSize(width: w, height: h) }
        let gray = pixels.format == .gray8
        let channels = gray ? 1 : 3
        guard pixels.byteCount >= w * h * channels else {
            throw ImagingError.shortData(expected: w * h * channels, got: pixels.byteCount)
        }
        let subsamp = gray ? TJSAMP_GRAY : TJSAMP_420
        let bound = tjBufSize(Int32(w), Int32(h), Int32(subsamp.rawValue))
        if bound > outputCapacity {
            if let o = output { tjFree(o) }
            output = tjAlloc(Int32(bound))
            outputCapacity = output == nil ? 0 : bound
            guard output != nil else { throw ImagingError.codecFailure("tjAlloc(\(bound)) failed") }
        }
        var size = outputCapacity
        let rc = tjCompress2(handle, pixels.bytes.assumingMemoryBound(to: UInt8.self), Int32(w), Int32(w * channels),
                             Int32(h), Int32((gray ? TJPF_GRAY : TJPF_RGB).rawValue), &output, &size,
                             Int32(subsamp.rawValue), Int32(min(100, max(1, quality))), TJFLAG_NOREALLOC)
        if rc != 0 {
            throw ImagingError.codecFailure(tjGetErrorStr2(handle).map { String(cString: $0) } ?? "tjCompress2 failed")
        }
        try body(UnsafeRawBufferPointer(start: output, count: Int(size)))
    }
}
