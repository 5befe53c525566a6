import CBuildInfo

/// What this binary is: release version, git commit and build date, compiled in by Scripts/package (a plain
/// `swift build` says "dev" and "unknown"). Shown by `inspectd --version`, the startup log line, the
/// `inspectd_build_info` metric, and meant for the status API.
public struct BuildInfo: Sendable, Codable, Equatable {
    /// The release version, e.g. "0.1.0"; "dev" for a developer build.
    public let version: String
    /// The full git commit hash, or "unknown".
    public let commit: String
    /// Build time, ISO 8601 UTC, or "unknown".
    public let date: String

    /// The values compiled into this binary.
    public static let current = BuildInfo(version: String(cString: inspectd_build_version()),
                                          commit: String(cString: inspectd_build_commit()),
                                          date: String(cString: inspectd_build_date()))

    /// "0.1.0 (commit d438129a1b2c, built 2026-12-04T12:00:00Z)".
    public var description: String {
        // Scripts/package marks a build from uncommitted changes "<hash>-dirty"; the mark stays visible.
        let shortCommit = commit == "unknown" ? commit
            : String(commit.prefix(12)) + (commit.hasSuffix("-dirty") ? "-dirty" : "")
        return "\(version) (commit \(shortCommit), built \(date))"
    }
}
