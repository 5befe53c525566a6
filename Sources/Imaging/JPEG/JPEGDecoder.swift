import CJPEG
import Foundation

/// Decodes JPEG/MJPEG frames with libjpeg-turbo's TurboJPEG API, optionally shrinking them in the DCT
/// (1/2, 1/4, 1/8) when the frame is much larger than needed, straight to
/// RGB or grayscale, or to its Y, Cb, Cr planes for the letterbox to finish.
///
/// One decoder per worker: it owns a TurboJPEG handle, which is not thread-safe.
public final class JPEGDecoder {
    /// What a decode produced.
    public struct Outcome: Sendable, Equatable {
        /// Size of the decoded image (after DCT scaling).
        public var width: Int, height: Int
        /// Size of the image in the JPEG header.
        public var fullWidth: Int, fullHeight: Int
        /// libjpeg-turbo's warning for a damaged but decodable image (a truncated frame), else nil.
        public var warning: String?
    }

    private let handle: tjhandle
    private let factors: [(num: Int, denom: Int)]

    /// Creates a decoder. Throws only if libjpeg-turbo cannot allocate its state.
    public init() throws {
        guard let h = tjInitDecompress() else { throw ImagingError.codecFailure("tjInitDecompress failed") }
        handle = h
        var n: Int32 = 0
        var list: [(Int, Int)] = []
        if let sf = tjGetScalingFactors(&n) {
            for i in 0..<Int(n) { list.append((Int(sf[i].num), Int(sf[i].denom))) }
        }
        factors = list
    }

    deinit { tjDestroy(handle) }

    /// Reads the image size from the JPEG header.
    public func header(_ jpeg: UnsafeRawBufferPointer) throws -> (width: Int, height: Int) {
        let h = try headerInfo(jpeg)
        return (h.width, h.height)
    }

    /// Reads the image size and whether the JPEG is grayscale (so it can be decoded to one channel).
    public func headerInfo(_ jpeg: UnsafeRawBufferPointer) throws -> (width: Int, height: Int, isGray: Bool) {
        let h = try readHeader(jpeg)
        return (h.width, h.height, h.isGray)
    }

    /// The decoded size for a header size when the result must stay at least `minWidth`×`minHeight`:
    /// the smallest of 1/8, 1/4 and 1/2 that keeps both sides at or above the minimum, else full size.
    ///
    /// libjpeg-turbo 2.1 also offers 3/8, 5/8, 3/4 and 7/8, but only the power-of-two factors have SIMD
    /// inverse DCTs; the others run scalar ones that cost more than the extra pixels they save the letterbox.
    /// Measured on a 1920×1080 camera JPEG (220 kB, quality 90, 4:2:0) → 640: 3/8 (720×405) decodes in
    /// 3.19 ms + 0.84 ms letterbox, 1/2 (960×540) in 2.88 ms + 1.02 ms; and 1/2 is the sharper picture.
    public func scaledSize(width: Int, height: Int, minWidth: Int, minHeight: Int) -> (width: Int, height: Int) {
        var best = (width, height)
        for (num, denom) in factors where num > 0 && denom % num == 0 {
            let ratio = denom / num
            guard ratio == 2 || ratio == 4 || ratio == 8 else { continue }
            // TJSCALED: libjpeg-turbo rounds scaled sizes up.
            let sw = (width * num + denom - 1) / denom, sh = (height * num + denom - 1) / denom
            if sw >= minWidth && sh >= minHeight && sw * sh < best.0 * best.1 { best = (sw, sh) }
        }
        return best
    }

    /// Decodes `jpeg` into `output` as `.rgb24` or `.gray8`, DCT-scaled down as far as possible while the
    /// result stays at least `minWidth`×`minHeight` (0 = full size). A damaged but decodable frame returns
    /// with a warning; data that is not a JPEG throws `ImagingError.corruptJPEG`.
    @discardableResult
    public func decode(_ jpeg: UnsafeRawBufferPointer, into output: PixelBuffer, format: PixelFormat = .rgb24,
                       minWidth: Int = 0, minHeight: Int = 0) throws -> Outcome {
        guard format == .rgb24 || format == .gray8 else {
            throw ImagingError.unsupportedFormat("JPEG decodes to rgb24 or gray8, not \(format.rawValue)")
        }
        let (fw, fh) = try header(jpeg)
        let (w, h) = minWidth > 0 || minHeight > 0
            ? scaledSize(width: fw, height: fh, minWidth: minWidth, minHeight: minHeight) : (fw, fh)
        let channels = format == .rgb24 ? 3 : 1
        guard w * h * channels <= output.capacity else {
            throw ImagingError.tooLarge(width: w, height: h, capacity: output.capacity)
        }
        let pf = format == .rgb24 ? TJPF_RGB : TJPF_GRAY
        let rc = tjDecompress2(handle, jpeg.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
                               output.bytes.assumingMemoryBound(to: UInt8.self), Int32(w), Int32(w * channels),
                               Int32(h), Int32(pf.rawValue), 0)
        var warning: String?
        if rc != 0 {
            let text = errorText()
            if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { warning = text } else {
                throw ImagingError.corruptJPEG(text)
            }
        }
        output.width = w; output.height = h; output.format = format; output.byteCount = w * h * channels
        return Outcome(width: w, height: h, fullWidth: fw, fullHeight: fh, warning: warning)
    }

    /// Decodes a colour (YCbCr) or grayscale JPEG to its planes at `width`×`height` (one of `scaledSize`'s
    /// results): the Y plane, then Cb and Cr at their subsampled size, packed one after the other in `output`.
    /// libjpeg-turbo then skips chroma upsampling and colour conversion, which `PlanarLetterbox` does on the
    /// letterboxed pixels only. Throws `ImagingError.unsupportedFormat` for other colour spaces (RGB, CMYK).
    func decodePlanes(_ jpeg: UnsafeRawBufferPointer, header: Header, width: Int, height: Int,
                      into output: PixelBuffer) throws -> (planes: JPEGPlanes, warning: String?) {
        guard header.hasPlanes else {
            throw ImagingError.unsupportedFormat("JPEG colour space \(header.colorspace) has no Y, Cb, Cr planes")
        }
        let planes = JPEGPlanes(width: width, height: height, subsampling: header.subsampling)
        guard planes.byteCount <= output.capacity else {
            throw ImagingError.tooLarge(width: width, height: height, capacity: output.capacity)
        }
        let base = output.bytes.assumingMemoryBound(to: UInt8.self)
        // Stack scratch for the plane pointers and strides: nothing is allocated per frame here.
        let rc = withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<UInt8>?.self, capacity: 3) { p in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: 3) { s in
                p[0] = base; p[1] = base + planes.cbOffset; p[2] = base + planes.crOffset
                s[0] = Int32(planes.lumaStride); s[1] = Int32(planes.chromaWidth); s[2] = Int32(planes.chromaWidth)
                return tjDecompressToYUVPlanes(handle, jpeg.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                               UInt(jpeg.count), p.baseAddress, Int32(width), s.baseAddress,
                                               Int32(height), 0)
            }
        }
        var warning: String?
        if rc != 0 {
            let text = errorText()
            if tjGetErrorCode(handle) == Int32(TJERR_WARNING.rawValue) { warning = text } else {
                throw ImagingError.corruptJPEG(text)
            }
        }
        output.byteCount = planes.byteCount  // the layout is `planes`; width, height and format are left alone
        return (planes, warning)
    }

    /// What the JPEG header says, beyond the size.
    struct Header {
        var width: Int, height: Int
        /// TurboJPEG's TJSAMP_* value.
        var subsampling: Int32
        /// TurboJPEG's TJCS_* value.
        var colorspace: Int32
        var isGray: Bool { colorspace == Int32(TJCS_GRAY.rawValue) }
        /// Grayscale, or YCbCr with a subsampling TurboJPEG can hand out as planes.
        var hasPlanes: Bool {
            isGray || (colorspace == Int32(TJCS_YCbCr.rawValue) && subsampling >= 0
                       && subsampling != Int32(TJSAMP_GRAY.rawValue) && subsampling < Int32(TJ_NUMSAMP))
        }
    }

    /// Reads size, subsampling and colour space from the JPEG header.
    func readHeader(_ jpeg: UnsafeRawBufferPointer) throws -> Header {
        guard let base = jpeg.baseAddress, jpeg.count > 2 else { throw ImagingError.corruptJPEG("empty data") }
        var w: Int32 = 0, h: Int32 = 0, ss: Int32 = 0, cs: Int32 = 0
        let rc = tjDecompressHeader3(handle, base.assumingMemoryBound(to: UInt8.self), UInt(jpeg.count),
                                     &w, &h, &ss, &cs)
        if rc != 0 { throw ImagingError.corruptJPEG(errorText()) }
        if w <= 0 || h <= 0 { throw ImagingError.zeroSize(width: Int(w), height: Int(h)) }
        return Header(width: Int(w), height: Int(h), subsampling: ss, colorspace: cs)
    }

    private func errorText() -> String {
        guard let c = tjGetErrorStr2(handle) else { return "unknown libjpeg-turbo error" }
        return String(cString: c)
    }
}
