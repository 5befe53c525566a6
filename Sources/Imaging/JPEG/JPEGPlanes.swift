import CJPEG

/// Where `JPEGDecoder.decodePlanes` leaves a JPEG's Y, Cb and Cr planes in its buffer: Y at the decoded size
/// (rows padded to whole chroma samples), then Cb and Cr at the subsampled size, packed. A grayscale JPEG has the Y plane only.
struct JPEGPlanes: Equatable {
    /// Size of the decoded image, which is the Y plane's size.
    var width: Int, height: Int
    /// Size of the Cb and Cr planes (0 × 0 for grayscale).
    var chromaWidth: Int, chromaHeight: Int
    /// Luma pixels per chroma sample across and down (2, 2 for 4:2:0).
    var chromaStepX: Int, chromaStepY: Int
    /// Bytes per row of the Y plane (the width rounded up to whole chroma samples).
    var lumaStride: Int
    /// Byte offsets of the Cb and Cr planes.
    var cbOffset: Int, crOffset: Int
    /// Bytes used by all planes.
    var byteCount: Int

    var isGray: Bool { chromaWidth == 0 }

    /// The layout TurboJPEG uses for an image of `width`×`height` with subsampling `subsampling` (TJSAMP_*).
    init(width: Int, height: Int, subsampling: Int32) {
        self.width = width; self.height = height
        switch subsampling {
        case Int32(TJSAMP_444.rawValue): (chromaStepX, chromaStepY) = (1, 1)
        case Int32(TJSAMP_422.rawValue): (chromaStepX, chromaStepY) = (2, 1)
        case Int32(TJSAMP_420.rawValue): (chromaStepX, chromaStepY) = (2, 2)
        case Int32(TJSAMP_440.rawValue): (chromaStepX, chromaStepY) = (1, 2)
        case Int32(TJSAMP_411.rawValue): (chromaStepX, chromaStepY) = (4, 1)
        default: (chromaStepX, chromaStepY) = (0, 0)  // grayscale
        }
        // TurboJPEG pads the Y plane to whole chroma samples (tjPlaneWidth/Height) and writes those rows too,
        // so Cb starts after the padded Y plane.
        let lumaWidth = Int(tjPlaneWidth(0, Int32(width), subsampling))
        let lumaHeight = Int(tjPlaneHeight(0, Int32(height), subsampling))
        lumaStride = max(width, lumaWidth)
        if chromaStepX == 0 {
            chromaWidth = 0; chromaHeight = 0
        } else {
            chromaWidth = Int(tjPlaneWidth(1, Int32(width), subsampling))
            chromaHeight = Int(tjPlaneHeight(1, Int32(height), subsampling))
        }
        cbOffset = lumaStride * max(height, lumaHeight)
        crOffset = cbOffset + chromaWidth * chromaHeight
        byteCount = crOffset + chromaWidth * chromaHeight
    }
}
