import Foundation

/// An error that stops the daemon from starting or reloading; the description names the key, file or device.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for people.
    public var description: String
    /// Makes the error.
    public init(_ description: String) { self.description = description }
}
