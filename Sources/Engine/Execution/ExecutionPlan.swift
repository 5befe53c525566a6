import Foundation

/// A prepared graph: kernels in order, arena layout, where inputs and outputs live. Built once per model.
struct ExecutionPlan: Sendable {
    /// Position of one tensor in the arena.
    struct Slot: Sendable {
        var offset: Int
        var value: ValueDesc
    }
    let kernels: [any Kernel]
    let labels: [String]
    let arenaBytes: Int
    let inputs: [Slot]
    let outputs: [Slot]
    let constants: [(offset: Int, bytes: [UInt8])]

    /// Drops dead steps, assigns arena offsets by liveness (buffers reused once their last reader has run)
    /// and makes the kernels.
    init(_ b: GraphBuilder) throws {
        var needed = Set(b.outputIDs)
        var keep = [Bool](repeating: false, count: b.steps.count)
        for i in stride(from: b.steps.count - 1, through: 0, by: -1) where b.steps[i].outputs.contains(where: needed.contains) {
            keep[i] = true
            needed.formUnion(b.steps[i].inputs)
        }
        var steps = b.steps.indices.filter { keep[$0] }.map { b.steps[$0] }
        let n = b.values.count
        // Concats whose inputs can live inside their output: each input is written there by its producer, and the
        // concat step disappears. An input qualifies when a kept step produces it, it is no graph input, output or
        // constant, and it is not already inside (or itself holding) another concat's output.
        var within = [(root: Int, at: Int)?](repeating: nil, count: n)
        var isRoot = [Bool](repeating: false, count: n)
        let produced = Set(steps.flatMap(\.outputs)), fixed = Set(b.inputIDs).union(b.outputIDs).union(b.arenaConstants.keys)
        steps = steps.filter { s in
            guard let views = s.views, let y = s.outputs.first, !fixed.contains(y), !isRoot[y], within[y] == nil,
                  s.inputs.allSatisfy({ produced.contains($0) && !fixed.contains($0) && within[$0] == nil && !isRoot[$0] })
            else { return true }
            for (k, id) in s.inputs.enumerated() { within[id] = (y, views[k]) }
            isRoot[y] = true
            return false
        }
        var def = [Int](repeating: Int.max, count: n), last = [Int](repeating: -1, count: n)
        for id in b.inputIDs { def[id] = -1; last[id] = max(last[id], 0) }
        for id in b.arenaConstants.keys where needed.contains(id) { def[id] = -1; last[id] = Int.max }
        for (i, s) in steps.enumerated() {
            for o in s.outputs { def[o] = min(def[o], i); last[o] = max(last[o], i) }
            for v in s.inputs { last[v] = max(last[v], i) }
        }
        for id in b.outputIDs { last[id] = Int.max; if def[id] == Int.max { def[id] = -1 } }
        for id in b.inputIDs { last[id] = Int.max }  // the caller writes inputs before run; keep them intact
        // A concat's output holds its inputs: it is live from the first input's producer to the last reader of any.
        for id in 0..<n { if let w = within[id] { def[w.root] = min(def[w.root], def[id]); last[w.root] = max(last[w.root], last[id]) } }
        let live = (0..<n).filter { within[$0] == nil && def[$0] != Int.max && last[$0] >= 0 }.sorted { (def[$0], -b.values[$0].bytes) < (def[$1], -b.values[$1].bytes) }
        var offset = [Int](repeating: 0, count: n)
        var placed: [(lo: Int, hi: Int, last: Int)] = []
        var total = 0
        for id in live {
            let size = (max(b.values[id].bytes, 1) + 63) / 64 * 64
            let busy = placed.filter { $0.last >= def[id] }.sorted { $0.lo < $1.lo }
            var at = 0
            for r in busy { if at + size <= r.lo { break }; at = max(at, r.hi) }
            offset[id] = at
            placed.append((at, at + size, last[id]))
            total = max(total, at + size)
        }
        for id in 0..<n { if let w = within[id] { offset[id] = offset[w.root] + w.at } }
        var kernels: [any Kernel] = []
        for s in steps { kernels.append(try s.make(s.inputs.map { offset[$0] }, s.outputs.map { offset[$0] })) }
        self.kernels = kernels
        self.labels = steps.map { $0.label }
        self.arenaBytes = max(total, 64)
        self.inputs = b.inputIDs.map { Slot(offset: offset[$0], value: b.values[$0]) }
        self.outputs = b.outputIDs.map { Slot(offset: offset[$0], value: b.values[$0]) }
        self.constants = b.arenaConstants.filter { needed.contains($0.key) }.map { (offset[$0.key], $0.value) }
    }
}
