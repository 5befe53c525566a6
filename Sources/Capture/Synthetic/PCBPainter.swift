import Foundation

/// Draws DeepPCB-style boards into a gray8 canvas: binarized dark copper (0) on a light background (255) —
/// thick traces at 0/45/90°, copper pours, round pads with drill holes — and then the six DeepPCB defect
/// classes, returning each defect's box sized the way the dataset's annotators drew them (the flaw plus a
/// margin, ≈ 30–40 px at 640×640).
struct PCBPainter {
    struct Segment { var x0, y0, x1, y1, r: Double }

    let width: Int, height: Int
    let pixels: UnsafeMutablePointer<UInt8>
    private(set) var segments: [Segment] = []
    private(set) var pours: [(x0: Int, y0: Int, x1: Int, y1: Int)] = []

    init(width: Int, height: Int, pixels: UnsafeMutablePointer<UInt8>) {
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// The same board's layout (for placing defects on it) drawing into another canvas holding a copy of it.
    func drawing(into other: UnsafeMutablePointer<UInt8>) -> PCBPainter {
        var p = PCBPainter(width: width, height: height, pixels: other)
        p.segments = segments; p.pours = pours
        return p
    }

    // MARK: primitives

    func at(_ x: Int, _ y: Int) -> UInt8 {
        guard x >= 0, y >= 0, x < width, y < height else { return 255 }
        return pixels[y * width + x]
    }

    func fillRect(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ v: UInt8) {
        let a = max(0, x0), b = min(width, x1), c = max(0, y0), d = min(height, y1)
        guard a < b, c < d else { return }
        for y in c..<d { (pixels + y * width + a).update(repeating: v, count: b - a) }
    }

    /// All pixels within `r` of the segment (a thick line with round ends).
    func capsule(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ r: Double, _ v: UInt8) {
        let minX = max(0, Int((min(x0, x1) - r).rounded(.down))), maxX = min(width - 1, Int((max(x0, x1) + r).rounded(.up)))
        let minY = max(0, Int((min(y0, y1) - r).rounded(.down))), maxY = min(height - 1, Int((max(y0, y1) + r).rounded(.up)))
        guard minX <= maxX, minY <= maxY else { return }
        let dx = x1 - x0, dy = y1 - y0, len2 = max(dx * dx + dy * dy, 1e-9), r2 = r * r
        for y in minY...maxY {
            let py = Double(y) + 0.5
            for x in minX...maxX {
                let px = Double(x) + 0.5
                let t = min(1, max(0, ((px - x0) * dx + (py - y0) * dy) / len2))
                let ex = px - (x0 + t * dx), ey = py - (y0 + t * dy)
                if ex * ex + ey * ey <= r2 { pixels[y * width + x] = v }
            }
        }
    }

    func disc(_ cx: Double, _ cy: Double, _ r: Double, _ v: UInt8) { capsule(cx, cy, cx, cy, r, v) }

    /// A filled ellipse with radii `rx`, `ry` rotated by `angle`.
    func ellipse(_ cx: Double, _ cy: Double, _ rx: Double, _ ry: Double, _ angle: Double, _ v: UInt8) {
        let r = max(rx, ry)
        let c = cos(angle), s = sin(angle)
        for y in max(0, Int(cy - r - 1))...min(height - 1, Int(cy + r + 1)) {
            for x in max(0, Int(cx - r - 1))...min(width - 1, Int(cx + r + 1)) {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                let u = (dx * c + dy * s) / rx, w = (-dx * s + dy * c) / ry
                if u * u + w * w <= 1 { pixels[y * width + x] = v }
            }
        }
    }

    /// True when every pixel in the square of half-size `half` around (x, y) is `v` (and inside the frame).
    func uniform(_ x: Int, _ y: Int, half: Int, _ v: UInt8) -> Bool {
        guard x - half >= 0, y - half >= 0, x + half < width, y + half < height else { return false }
        var yy = y - half
        while yy <= y + half {
            var xx = x - half
            while xx <= x + half { if pixels[yy * width + xx] != v { return false }; xx += 2 }
            yy += 2
        }
        return true
    }

    // MARK: board

    /// True when no copper lies within `r` of the segment: real boards keep a clearance between nets, and
    /// touching or crossing copper would look like a short to a detector.
    func isClear(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ r: Double) -> Bool {
        let minX = max(0, Int(min(x0, x1) - r)), maxX = min(width - 1, Int(max(x0, x1) + r))
        let minY = max(0, Int(min(y0, y1) - r)), maxY = min(height - 1, Int(max(y0, y1) + r))
        guard minX <= maxX, minY <= maxY else { return true }
        let dx = x1 - x0, dy = y1 - y0, len2 = max(dx * dx + dy * dy, 1e-9), r2 = r * r
        var y = minY
        while y <= maxY {
            var x = minX
            while x <= maxX {
                if pixels[y * width + x] == 0 {
                    let px = Double(x) + 0.5, py = Double(y) + 0.5
                    let t = min(1, max(0, ((px - x0) * dx + (py - y0) * dy) / len2))
                    let ex = px - (x0 + t * dx), ey = py - (y0 + t * dy)
                    if ex * ex + ey * ey <= r2 { return false }
                }
                x += 1
            }
            y += 1
        }
        return true
    }

    mutating func drawBoard(_ rng: inout SyntheticRandom) {
        pixels.update(repeating: 255, count: width * height)
        let sx = Double(width) / 640, sy = Double(height) / 640
        let scale = min(sx, sy)
        let clearance = 9 * scale
        // Copper pours, often running off the edge as in the dataset's crops.
        for _ in 0..<rng.int(0...2) {
            let w = Int(Double(rng.int(120...360)) * sx), h = Int(Double(rng.int(60...260)) * sy)
            let x0 = rng.int(-w / 3...width - 2 * w / 3), y0 = rng.int(-h / 3...height - 2 * h / 3)
            let cx = Double(x0) + Double(w) / 2, cy = Double(y0) + Double(h) / 2
            guard isClear(cx, cy, cx, cy, Double(max(w, h)) / 2 * 1.45 + clearance) else { continue }
            fillRect(x0, y0, x0 + w, y0 + h, 0)
            pours.append((x0, y0, x0 + w, y0 + h))
            if rng.bool(0.5) {  // a clearance ring with a pad inside
                let r = Double(rng.int(18...30)) * scale
                if Double(min(w, h)) > 2 * (r + 24 * scale) {
                    disc(cx, cy, r + 10 * scale, 255); disc(cx, cy, r, 0); disc(cx, cy, r * 0.5, 255)
                }
            }
        }
        // Traces: polylines at 0/45/90° that keep their clearance, ending on pads.
        let directions = [(1.0, 0.0), (0.7071, 0.7071), (0.0, 1.0), (-0.7071, 0.7071),
                          (-1.0, 0.0), (-0.7071, -0.7071), (0.0, -1.0), (0.7071, -0.7071)]
        for _ in 0..<rng.int(8...14) {
            let r = Double(rng.int(4...12)) * scale
            let x0 = rng.double(-20, Double(width) + 20), y0 = rng.double(-20, Double(height) + 20)
            var dirs = [rng.int(0...7)], lengths: [Double] = []
            for _ in 0..<rng.int(1...3) {
                lengths.append(rng.double(80, 320) * scale)
                dirs.append((dirs[dirs.count - 1] + (rng.bool() ? 1 : 7)) % 8)
            }
            // Often a bus: parallel copies at a fixed pitch, as on real boards.
            let copies = rng.bool(0.45) ? rng.int(2...4) : 1
            let pitch = 2 * r + rng.double(12, 24) * scale
            let normal = (-directions[dirs[0]].1, directions[dirs[0]].0)
            let padChance = copies > 1 ? 0.25 : 0.6
            for k in 0..<copies {
                var x = x0 + normal.0 * pitch * Double(k), y = y0 + normal.1 * pitch * Double(k)
                let start = (x, y)
                var drawn = 0
                for (i, len) in lengths.enumerated() {
                    let d = directions[dirs[i]]
                    // Copies of a turning bus keep their pitch only approximately; shorten inner ones.
                    let l = len - (i < lengths.count - 1 ? Double(k) * pitch * 0.4 : 0)
                    let nx = x + d.0 * l, ny = y + d.1 * l
                    // Check from past the joint (a 45° turn stays within r + clearance for 1.5× that).
                    let skip = drawn == 0 ? 0 : 1.5 * (r + clearance) + 1
                    guard l > skip + 10, isClear(x + d.0 * skip, y + d.1 * skip, nx, ny, r + clearance) else { break }
                    capsule(x, y, nx, ny, r, 0)
                    segments.append(Segment(x0: x, y0: y, x1: nx, y1: ny, r: r))
                    x = nx; y = ny; drawn += 1
                }
                guard drawn > 0 else { continue }
                for end in [start, (x, y)] where rng.bool(padChance) {
                    let pr = r + Double(rng.int(10...22)) * scale
                    // The pad must keep clearance from everything except its own trace.
                    let seg = end == start ? segments[segments.count - drawn] : segments[segments.count - 1]
                    let away = end == start ? (seg.x0 - seg.x1, seg.y0 - seg.y1) : (seg.x1 - seg.x0, seg.y1 - seg.y0)
                    let l = max(hypot(away.0, away.1), 1e-9)
                    let probe = (end.0 + away.0 / l * pr * 0.6, end.1 + away.1 / l * pr * 0.6)
                    guard isClear(probe.0, probe.1, probe.0, probe.1, pr * 0.4 + clearance) else { continue }
                    if rng.bool(0.7) {
                        // Drill holes are about half the pad: smaller ones look like pin-holes to a detector.
                        disc(end.0, end.1, pr, 0); disc(end.0, end.1, max(pr * rng.double(0.5, 0.62), 8 * scale), 255)
                    } else {
                        fillRect(Int(end.0 - pr), Int(end.1 - pr), Int(end.0 + pr), Int(end.1 + pr), 0)
                    }
                }
            }
        }
    }

    // MARK: defects

    /// Draws a defect of `classID` somewhere plausible; returns its tight box, or nil if no spot was found.
    mutating func drawDefect(_ classID: Int, _ rng: inout SyntheticRandom, avoiding taken: [(Double, Double, Double, Double)])
        -> (Double, Double, Double, Double)? {
        let scale = min(Double(width), Double(height)) / 640
        for _ in 0..<40 {
            guard let box = attempt(classID, &rng, scale, dryRun: true) else { continue }
            let grown = (box.0 - 20 * scale, box.1 - 20 * scale, box.2 + 20 * scale, box.3 + 20 * scale)
            if taken.contains(where: { $0.0 < grown.2 && grown.0 < $0.2 && $0.1 < grown.3 && grown.1 < $0.3 }) { continue }
            return attempt(classID, &rng, scale, dryRun: false, replay: box)
        }
        return nil
    }

    private var pending: (() -> Void)?

    /// Picks a spot and shape for a defect. With `dryRun` it only returns the box and remembers how to draw it.
    private mutating func attempt(_ classID: Int, _ rng: inout SyntheticRandom, _ scale: Double, dryRun: Bool,
                                  replay: (Double, Double, Double, Double)? = nil) -> (Double, Double, Double, Double)? {
        if !dryRun, let draw = pending { draw(); pending = nil; return replay }
        let margin = 3.0
        switch classID {
        case 0, 1, 2, 3:
            let candidates = segments.filter { s in
                let len = hypot(s.x1 - s.x0, s.y1 - s.y0)
                return len > 60 * scale && s.r >= (classID == 0 ? 3.5 : 4) * scale
            }
            guard !candidates.isEmpty else { return nil }
            let s = candidates[rng.int(0...candidates.count - 1)]
            let len = hypot(s.x1 - s.x0, s.y1 - s.y0)
            let d = ((s.x1 - s.x0) / len, (s.y1 - s.y0) / len)
            var n = (-d.1, d.0)
            if rng.bool() { n = (-n.0, -n.1) }
            let t = rng.double(0.2, 0.8)
            let p = (s.x0 + d.0 * len * t, s.y0 + d.1 * len * t)
            guard p.0 > 25 * scale, p.1 > 25 * scale, p.0 < Double(width) - 25 * scale, p.1 < Double(height) - 25 * scale,
                  at(Int(p.0), Int(p.1)) == 0 else { return nil }
            let edge = (p.0 + n.0 * s.r, p.1 + n.1 * s.r)
            switch classID {
            case 0:  // open: a thin, slightly oblique white cut across the whole trace
                let tilt = rng.double(-0.5, 0.5)
                let cut = (n.0 + d.0 * tilt, n.1 + d.1 * tilt)
                let half = s.r + 3 * scale, g = rng.double(1.2, 2.6) * scale
                let a = (p.0 - cut.0 * half, p.1 - cut.1 * half), b = (p.0 + cut.0 * half, p.1 + cut.1 * half)
                pending = { [self] in capsule(a.0, a.1, b.0, b.1, g, 255) }
                return (min(a.0, b.0) - g - margin, min(a.1, b.1) - g - margin, max(a.0, b.0) + g + margin, max(a.1, b.1) + g + margin)
            case 1:  // short: a thin dark bridge from the trace edge to the next copper
                var dist = 0.0
                var k = 3.0
                while k < 48 * scale {
                    let q = (edge.0 + n.0 * k, edge.1 + n.1 * k)
                    if at(Int(q.0), Int(q.1)) == 0 { dist = k; break }
                    k += 1
                }
                guard dist >= 6 * scale else { return nil }
                let far = (edge.0 + n.0 * (dist + 2), edge.1 + n.1 * (dist + 2))
                let wig = rng.double(-4, 4) * scale
                let mid = ((edge.0 + far.0) / 2 + d.0 * wig, (edge.1 + far.1) / 2 + d.1 * wig)
                let r = rng.double(1.0, 2.2) * scale
                let start = (edge.0 - n.0 * 2, edge.1 - n.1 * 2)
                pending = { [self] in capsule(start.0, start.1, mid.0, mid.1, r, 0); capsule(mid.0, mid.1, far.0, far.1, r, 0) }
                let xs = [start.0, mid.0, far.0], ys = [start.1, mid.1, far.1]
                return (xs.min()! - r - margin, ys.min()! - r - margin, xs.max()! + r + margin, ys.max()! + r + margin)
            case 2:  // mousebite: one to three small bites out of the trace edge
                let count = rng.int(1...3)
                var circles: [(Double, Double, Double)] = []
                for i in 0..<count {
                    let off = Double(i) * rng.double(3, 6) * scale
                    let r = rng.double(3.0, 5.5) * scale
                    circles.append((edge.0 + d.0 * off - n.0 * r * 0.4, edge.1 + d.1 * off - n.1 * r * 0.4, r))
                }
                pending = { [self] in for c in circles { disc(c.0, c.1, c.2, 255) } }
                return (circles.map { $0.0 - $0.2 }.min()! - margin, circles.map { $0.1 - $0.2 }.min()! - margin,
                        circles.map { $0.0 + $0.2 }.max()! + margin, circles.map { $0.1 + $0.2 }.max()! + margin)
            default:  // spur: a short dark protrusion from the trace edge into free space
                let l = rng.double(5, 12) * scale
                let lean = rng.double(-0.4, 0.4)
                let tip = (edge.0 + (n.0 + d.0 * lean) * l, edge.1 + (n.1 + d.1 * lean) * l)
                guard uniform(Int(tip.0 + n.0 * 4), Int(tip.1 + n.1 * 4), half: 3, 255) else { return nil }
                let r = rng.double(1.5, 3.0) * scale
                let base = (edge.0 - n.0 * 2, edge.1 - n.1 * 2)
                pending = { [self] in capsule(base.0, base.1, tip.0, tip.1, r, 0); disc(tip.0, tip.1, r * 1.15, 0) }
                return (min(base.0, tip.0) - r - margin, min(base.1, tip.1) - r - margin,
                        max(base.0, tip.0) + r + margin, max(base.1, tip.1) + r + margin)
            }
        case 4:  // spurious copper: an isolated dark blob in free space
            let x = rng.int(30...width - 31), y = rng.int(30...height - 31)
            guard uniform(x, y, half: Int(18 * scale), 255) else { return nil }
            let rx = rng.double(3, 8) * scale, ry = rng.double(2.5, 6) * scale, ang = rng.double(0, .pi)
            let second = rng.bool(0.4)
            let off = (rng.double(-5, 5) * scale, rng.double(-5, 5) * scale)
            pending = { [self] in
                ellipse(Double(x), Double(y), rx, ry, ang, 0)
                if second { ellipse(Double(x) + off.0, Double(y) + off.1, ry, ry, 0, 0) }
            }
            let e = max(rx, ry) + (second ? max(abs(off.0), abs(off.1)) : 0)
            return (Double(x) - e - margin, Double(y) - e - margin, Double(x) + e + margin, Double(y) + e + margin)
        default:  // pin-hole: a small white void inside copper
            let x = rng.int(30...width - 31), y = rng.int(30...height - 31)
            guard uniform(x, y, half: Int(11 * scale), 0) else { return nil }
            let rx = rng.double(2, 5) * scale, ry = rng.double(1.5, 3.5) * scale, ang = rng.double(0, .pi)
            pending = { [self] in ellipse(Double(x), Double(y), rx, ry, ang, 255) }
            let e = max(rx, ry)
            return (Double(x) - e - margin, Double(y) - e - margin, Double(x) + e + margin, Double(y) + e + margin)
        }
    }
}
