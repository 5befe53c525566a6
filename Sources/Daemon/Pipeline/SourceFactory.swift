import Capture
import Foundation

/// Makes the frame source a camera's config describes.
enum SourceFactory {
    /// Pixel buffers a source hands out: enough for a full queue, one frame per worker and the one being
    /// captured, so capture never waits for a buffer in steady state.
    static func poolSize(for camera: CameraConfig, workers: Int) -> Int { camera.queueSize + workers + 2 }

    /// The source for `camera`. Throws for settings no retry can fix (unknown control, empty replay).
    /// `v4l2Device` replaces libv4l2 for V4L2 cameras (tests run the daemon on a `SimulatedV4L2Device`).
    static func make(_ camera: CameraConfig, workers: Int, v4l2Device: (any V4L2Device)? = nil) throws -> any FrameSource {
        let pool = poolSize(for: camera, workers: workers)
        switch camera.source {
        case .v4l2(let v):
            var controls: [CameraControl] = []
            if let e = v.exposure {
                controls += [try CameraControl(name: "auto_exposure", value: 1),  // V4L2_EXPOSURE_MANUAL
                             try CameraControl(name: "exposure_time_absolute", value: e)]
            }
            if let g = v.gain { controls.append(try CameraControl(name: "gain", value: g)) }
            if let wb = v.whiteBalance {
                controls += [try CameraControl(name: "white_balance_automatic", value: 0),
                             try CameraControl(name: "white_balance_temperature", value: wb)]
            }
            if let f = v.focus {
                controls += [try CameraControl(name: "focus_automatic_continuous", value: 0),
                             try CameraControl(name: "focus_absolute", value: f)]
            }
            let formats = v.formats.compactMap { V4L2PixelFormat(configName: $0.rawValue) }
            let configuration = V4L2Source.Configuration(
                cameraID: camera.id, device: v.device, formats: formats, width: v.width, height: v.height,
                fps: v.fps, bufferCount: v.buffers, poolSize: pool, controls: controls, stallTimeout: v.stallTimeout)
            try configuration.validate()
            if let v4l2Device { return try V4L2Source(configuration: configuration, device: v4l2Device) }
            return try V4L2Source(configuration: configuration)
        case .replay(let r):
            let input: String
            switch r.files { case .path(let p): input = p; case .glob(let g): input = g; case .list(let l): input = l }
            return try ReplaySource(configuration: .init(cameraID: camera.id, input: input,
                                                         fps: r.fps > 0 ? r.fps : nil, loop: r.loop, poolSize: pool))
        case .synthetic(let s):
            let configuration = SyntheticSource.Configuration(
                cameraID: camera.id, width: s.width, height: s.height, fps: s.fps > 0 ? s.fps : nil,
                defectsPerFrame: s.defectsPerFrame, seed: s.seed, poolSize: pool,
                defectiveFraction: s.defectiveFraction, goldenBoard: camera.reference != nil && camera.reference?.image == nil,
                maxShift: s.shift, maxRotation: s.rotation)
            try configuration.validate()
            return try SyntheticSource(configuration: configuration)
        }
    }
}
