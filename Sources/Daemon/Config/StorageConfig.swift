import Foundation
import Delivery

/// `audit`: the SQLite audit store.
public struct AuditConfig: Sendable, Equatable {
    /// Database file (created with its directory when missing).
    public var path: String
    /// Inspections older than this are pruned (undelivered outbox rows never are).
    public var retentionDays: Int
    /// The database is pruned, oldest first, to stay under this size.
    public var sizeCapMB: Int
    /// The writer commits at least this often (one transaction per batch).
    public var batchInterval: Duration
    /// Where records go when the database cannot be written and memory is full (nil: memory only).
    public var spillPath: String?
    /// The spill file's size limit.
    public var spillCapMB: Int
    /// SQLite `synchronous`: `full` (commits survive a power cut) or `normal`.
    public var synchronous: AuditStore.Synchronous

    static func read(_ m: ConfigMapping) -> AuditConfig {
        AuditConfig(path: m.path("path", .creatable) ?? "/var/lib/inspectd/audit.db",
                    retentionDays: m.int("retention_days", default: 90, in: 1...36500),
                    sizeCapMB: m.int("size_cap_mb", default: 2048, in: 1...10_000_000),
                    batchInterval: m.duration("batch_interval", default: .milliseconds(100),
                                              in: .milliseconds(1)...(.seconds(10))),
                    spillPath: m.path("spill_path", .creatable),
                    spillCapMB: m.int("spill_cap_mb", default: 256, in: 1...1_000_000),
                    synchronous: synchronous(m))
    }

    private static func synchronous(_ m: ConfigMapping) -> AuditStore.Synchronous {
        guard let raw = m.string("synchronous") else { return .full }
        guard let value = AuditStore.Synchronous(rawValue: raw.uppercased()) else {
            m.report("synchronous", "'\(raw)' is not full or normal")
            return .full
        }
        return value
    }
}

/// `snapshots`: JPEG evidence of NG frames.
public struct SnapshotConfig: Sendable, Equatable {
    public var enabled: Bool
    /// Directory (created when missing).
    public var directory: String
    /// Also write a copy with the defect boxes drawn.
    public var annotated: Bool
    /// Oldest snapshots are deleted to stay under this many MB.
    public var capMB: Int

    static func read(_ m: ConfigMapping) -> SnapshotConfig {
        SnapshotConfig(enabled: m.bool("enabled", default: true),
                       directory: m.path("dir", .creatable) ?? "/var/lib/inspectd/snapshots",
                       annotated: m.bool("annotated", default: true),
                       capMB: m.int("cap_mb", default: 1024, in: 1...10_000_000))
    }
}

/// `metrics`: what `/metrics` and `/healthz` (on the `http` listener) judge by.
public struct MetricsConfig: Sendable, Equatable {
    /// Off = no HTTP listener at all, unless `http.enabled` says otherwise (the default of `http.enabled`).
    public var enabled: Bool
    /// `metrics.listen`, deprecated: the listener's address is `http.listen` now. Read only to migrate it.
    public var legacyListen: ListenAddress?
    /// `/healthz` fails when a camera has been down longer than this.
    public var cameraDownLimit: Duration
    /// `/healthz` fails when frames were captured but none finished for this long.
    public var stallLimit: Duration

    static func read(_ m: ConfigMapping) -> MetricsConfig {
        MetricsConfig(enabled: m.bool("enabled", default: true), legacyListen: ListenAddress.read(m, "listen"),
                      cameraDownLimit: m.duration("camera_down_limit", default: .seconds(60),
                                                  in: .seconds(1)...(.seconds(86400))),
                      stallLimit: m.duration("stall_limit", default: .seconds(30),
                                             in: .seconds(1)...(.seconds(86400))))
    }
}
