import CKernels
import Foundation

/// What a kernel sees while running: the session's arena and scratch memory and its thread pool.
struct RunContext {
    let arena: UnsafeMutableRawPointer
    let scratch: UnsafeMutableRawPointer
    let pool: WorkerPool

    @inline(__always) func f32(_ offset: Int) -> UnsafeMutablePointer<Float> {
        (arena + offset).assumingMemoryBound(to: Float.self)
    }
    @inline(__always) func bytes(_ offset: Int) -> UnsafeMutablePointer<UInt8> {
        (arena + offset).assumingMemoryBound(to: UInt8.self)
    }
}

/// One step of a prepared graph. Kernels are immutable after load and shared by all sessions of a model;
/// everything they write goes to the arena or scratch of the session running them.
protocol Kernel: Sendable {
    /// Scratch bytes needed when running with `threads` threads.
    func scratchBytes(threads: Int) -> Int
    func run(_ c: RunContext)
}

extension Kernel {
    func scratchBytes(threads: Int) -> Int { 0 }
}

/// A float operand that is either a value in the arena or a constant held by the kernel.
enum FloatOperand: Sendable {
    case arena(Int)
    case constant([Float])

    @inline(__always) func withPointer<R>(_ c: RunContext, _ body: (UnsafePointer<Float>) -> R) -> R {
        switch self {
        case .arena(let off): return body(UnsafePointer(c.f32(off)))
        case .constant(let v): return v.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}
