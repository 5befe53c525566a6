import Daemon
import Foundation
import Logging
import Synchronization
import TestSupport
import XCTest

/// The daemon's service, started in this process from a config file (as `inspectd run` does), with its HTTP
/// listener on a free port.
final class RunningDaemon {
    let service: InspectionService
    let directory: URL
    let port: Int
    let client: HTTPClient
    private let code = ExitCode()
    private let exited = DispatchSemaphore(value: 0)

    /// The repository's INT8 DeepPCB model.
    static var model: String { TestProcess.repositoryRoot.appendingPathComponent("Models/deeppcb-yolov8n.int8.onnx").path }

    /// Writes `yaml` to `directory/inspectd.yaml`, starts the service and waits (a hang guard, not a timing
    /// check) until it listens.
    init(yaml: String, directory: URL) throws {
        self.directory = directory
        let file = directory.appendingPathComponent("inspectd.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        service = InspectionService(configPath: file.path, environment: [:], logger: Logger(label: "test.api"))
        let service = self.service, code = self.code, exited = self.exited
        Thread.detachNewThread {
            let c = service.run(errors: { print("service: \($0)") })
            code.value.withLock { $0 = c }
            exited.signal()
        }
        let limit = Date().addingTimeInterval(240)
        while Date() < limit && service.metricsPort == nil && code.value.withLock({ $0 }) == nil {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let port = service.metricsPort else {
            throw TestProcess.Failure(description: "the daemon did not start listening (exit code \(String(describing: code.value.withLock { $0 })))")
        }
        self.port = port
        client = HTTPClient(port: port, directory: directory)
    }

    /// Waits (hang guard) until `condition` holds; returns whether it did.
    func wait(_ seconds: TimeInterval = 240, until condition: () throws -> Bool) rethrows -> Bool {
        let limit = Date().addingTimeInterval(seconds)
        while Date() < limit {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    /// Stops the service; returns its exit code. Again after it stopped (a test's own stop, then its `defer`):
    /// returns the same code at once, without waiting for a second exit that never comes.
    @discardableResult
    func stop() -> Int32? {
        if let c = code.value.withLock({ $0 }) { return c }
        service.requestStop()
        _ = exited.wait(timeout: .now() + 120)
        return code.value.withLock { $0 }
    }

    /// The service's exit code once `run` returned.
    private final class ExitCode: Sendable { let value = Mutex<Int32?>(nil) }
}
