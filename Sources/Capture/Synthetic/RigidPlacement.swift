import Foundation

/// Where a synthetic part lies in the frame: the board turned by `degrees` about the frame centre and moved
/// by (`dx`, `dy`) pixels. A board point b appears at R(θ)(b − c) + c + t.
struct RigidPlacement {
    let dx: Double, dy: Double
    let cosT: Double, sinT: Double
    let cx: Double, cy: Double
    let width: Int, height: Int

    init(dx: Double, dy: Double, degrees: Double, width: Int, height: Int) {
        self.dx = dx; self.dy = dy
        cosT = cos(degrees * .pi / 180); sinT = sin(degrees * .pi / 180)
        cx = Double(width) / 2; cy = Double(height) / 2
        self.width = width; self.height = height
    }

    /// Writes the placed board: each frame pixel samples the board bilinearly at its pre-image; pixels whose
    /// pre-image falls off the board get `background` (the light substrate of a DeepPCB image).
    func warp(_ board: UnsafePointer<UInt8>, into frame: UnsafeMutablePointer<UInt8>, background: UInt8) {
        let w = width, h = height, bg = Double(background)
        for y in 0..<h {
            // pre-image of pixel centre (x + 0.5, y + 0.5), minus 0.5 to index samples: b = R(−θ)(p − c − t) + c
            let py = Double(y) + 0.5 - cy - dy
            var bx = -(cx + dx) * cosT + py * sinT + cx - 0.5 + 0.5 * cosT
            var by = (cx + dx) * sinT + py * cosT + cy - 0.5 - 0.5 * sinT
            let row = frame + y * w
            for x in 0..<w {
                let x0 = Int(bx.rounded(.down)), y0 = Int(by.rounded(.down))
                if x0 >= 0, y0 >= 0, x0 + 1 < w, y0 + 1 < h {
                    let fx = bx - Double(x0), fy = by - Double(y0)
                    let p = board + y0 * w + x0
                    let top = Double(p[0]) + (Double(p[1]) - Double(p[0])) * fx
                    let bottom = Double(p[w]) + (Double(p[w + 1]) - Double(p[w])) * fx
                    row[x] = UInt8((top + (bottom - top) * fy).rounded())
                } else {
                    row[x] = UInt8(bg)
                }
                bx += cosT; by -= sinT
            }
        }
    }

    /// A board box placed into the frame: the bounding box of its four turned corners, clamped to the frame.
    func box(_ d: GroundTruthDefect) -> GroundTruthDefect {
        let corners = [(d.x1, d.y1), (d.x2, d.y1), (d.x1, d.y2), (d.x2, d.y2)].map { (x, y) -> (Double, Double) in
            let u = Double(x) - cx, v = Double(y) - cy
            return (u * cosT - v * sinT + cx + dx, u * sinT + v * cosT + cy + dy)
        }
        let xs = corners.map(\.0), ys = corners.map(\.1)
        return GroundTruthDefect(classID: d.classID,
                                 x1: Float(max(0, xs.min()!)), y1: Float(max(0, ys.min()!)),
                                 x2: Float(min(Double(width), xs.max()!)), y2: Float(min(Double(height), ys.max()!)))
    }
}
