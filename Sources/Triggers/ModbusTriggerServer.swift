import CModbus
import Foundation
import Logging
import Threading

/// A Modbus TCP server (libmodbus) through which a PLC triggers inspections and reads their results, with the
/// usual handshake over the holding registers of `ModbusRegisterMap`: the PLC writes the part id and sets
/// trigger; the server sets busy and calls `handler`; when the handler finishes it writes the results, counts
/// the handshake and sets done (or error); the PLC reads them and clears trigger, which clears done and error.
///
/// One thread serves every client connection (`select`, at most `maxClients`); the register table is shared
/// with the handler's completions under a lock.
public final class ModbusTriggerServer: @unchecked Sendable {
    // @unchecked: `context`, `mapping` and the per-camera state are used only with `lock` held (the table) or
    // only on the server thread (`context` for receiving); `stop` frees them after that thread has ended.

    /// Where to listen and which cameras have a register block (in this order).
    public struct Settings: Sendable, Equatable {
        public var host: String
        /// 0 = any free port (see `port`); 502 is Modbus's own, which needs root or CAP_NET_BIND_SERVICE.
        public var port: Int
        /// The unit id the PLC addresses (requests to another unit get no answer).
        public var unitID: Int
        public var cameras: [String]
        /// Plain memberwise initializer.
        public init(host: String, port: Int, unitID: Int, cameras: [String]) {
            self.host = host; self.port = port; self.unitID = unitID; self.cameras = cameras
        }
    }

    /// Starts an inspection of `partID` on `camera` and calls `finish` once with its outcome (on any thread).
    /// Called on the server thread: it must hand the work over and return, not inspect there.
    public typealias Handler = @Sendable (_ camera: String, _ partID: String,
                                          _ finish: @escaping @Sendable (TriggerOutcome) -> Void) -> Void

    /// The port actually bound.
    public let port: Int
    public let settings: Settings
    /// Client connections served at once; one more is closed at once.
    public static let maxClients = 16

    private let context: OpaquePointer
    private let mapping: UnsafeMutablePointer<modbus_mapping_t>
    private let listenSocket: Int32
    private let handler: Handler
    private let logger: Logger
    private let lock = NSLock()
    private var lastControl: [UInt16]
    private var pending: [Bool]
    /// Per camera: the part id of the running inspection, and whether the PLC broke the handshake meanwhile.
    private var runningPart: [String?]
    private var outOfOrder: [Bool]
    private let thread = LoopThread(name: "modbus-server")

    /// Binds and starts serving. Throws naming the address when it cannot listen.
    public init(settings: Settings, logger: Logger, handler: @escaping Handler) throws {
        self.settings = settings; self.handler = handler; self.logger = logger
        guard let context = modbus_new_tcp(settings.host, Int32(settings.port)) else {
            throw ModbusServerError("plc.modbus.listen: \(settings.host) is not an IPv4 address")
        }
        modbus_set_slave(context, Int32(settings.unitID))
        let registers = max(1, settings.cameras.count) * ModbusRegisterMap.blockSize
        guard let mapping = modbus_mapping_new(0, 0, Int32(registers), 0) else {
            modbus_free(context)
            throw ModbusServerError("plc.modbus: cannot allocate \(registers) registers")
        }
        let socket = modbus_tcp_listen(context, 8)
        guard socket >= 0 else {
            let reason = String(cString: modbus_strerror(inspectd_errno()))
            modbus_mapping_free(mapping); modbus_free(context)
            throw ModbusServerError("plc.modbus.listen: cannot listen on \(settings.host):\(settings.port): \(reason)")
        }
        var address = sockaddr_in(), length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        self.context = context; self.mapping = mapping; self.listenSocket = socket
        port = Int(UInt16(bigEndian: address.sin_port))
        lastControl = Array(repeating: 0, count: settings.cameras.count)
        pending = Array(repeating: false, count: settings.cameras.count)
        runningPart = Array(repeating: nil, count: settings.cameras.count)
        outOfOrder = Array(repeating: false, count: settings.cameras.count)
        for i in settings.cameras.indices { register(i, ModbusRegisterMap.status).pointee = ModbusRegisterMap.ready }
        thread.start { [self] in serve() }
    }

    /// Sets or clears a camera's ready bit (a camera that is down is not ready).
    public func setReady(camera: String, _ ready: Bool) {
        guard let i = settings.cameras.firstIndex(of: camera) else { return }
        lock.withLock {
            let status = register(i, ModbusRegisterMap.status)
            status.pointee = ready ? status.pointee | ModbusRegisterMap.ready : status.pointee & ~ModbusRegisterMap.ready
        }
    }

    /// Stops serving, closes every connection and frees the table (waiting up to 5 s for the server thread).
    public func stop() {
        thread.requestStop()
        guard thread.join(until: Date(timeIntervalSinceNow: 5)) else {
            logger.warning("plc.modbus: the server thread did not stop within 5 s")
            return
        }
        close(listenSocket)
        lock.withLock {
            modbus_mapping_free(mapping)
            modbus_free(context)
        }
    }

    // MARK: the server thread

    private func serve() {
        var clients: [Int32] = []
        var query = [UInt8](repeating: 0, count: Int(MODBUS_TCP_MAX_ADU_LENGTH))
        while !thread.isStopping {
            var set = fd_set()
            inspectd_fd_zero(&set)
            inspectd_fd_set(listenSocket, &set)
            for c in clients { inspectd_fd_set(c, &set) }
            var wait = timeval(tv_sec: 0, tv_usec: 200_000)  // how soon a stop is seen
            let ready = select(max(listenSocket, clients.max() ?? listenSocket) + 1, &set, nil, nil, &wait)
            guard ready > 0 else { continue }
            if inspectd_fd_isset(listenSocket, &set) != 0 {
                var s = listenSocket
                let fd = modbus_tcp_accept(context, &s)
                if fd >= 0 {
                    if clients.count < Self.maxClients { clients.append(fd) } else {
                        logger.warning("plc.modbus: more than \(Self.maxClients) connections; refusing one")
                        close(fd)
                    }
                }
            }
            for c in clients where inspectd_fd_isset(c, &set) != 0 {
                modbus_set_socket(context, c)
                let n = modbus_receive(context, &query)
                // libmodbus answers every unit id over TCP; the MBAP header's unit id (byte 6) must be ours or
                // 255 (the TCP "this server" id). Another unit gets no answer, as from a gateway without it.
                let unit = n > 6 ? Int(query[6]) : -1
                if n > 0 && unit != settings.unitID && unit != Int(MODBUS_TCP_SLAVE) {
                    continue
                }
                if n > 0 {
                    let started: [(String, String)] = lock.withLock {
                        modbus_reply(context, query, n, mapping)
                        return scanControls()
                    }
                    for (camera, partID) in started { startInspection(camera: camera, partID: partID) }
                } else if n == -1 {  // closed by the PLC, or a broken frame: drop the connection
                    close(c)
                    clients.removeAll { $0 == c }
                }
            }
        }
        for c in clients { close(c) }
    }

    /// Called with `lock` held after every request: trigger edges per camera. Returns the triggers to start.
    private func scanControls() -> [(String, String)] {
        var started: [(String, String)] = []
        for (i, camera) in settings.cameras.enumerated() {
            let control = register(i, ModbusRegisterMap.control).pointee
            let trigger = control & ModbusRegisterMap.triggerBit != 0
            let was = lastControl[i] & ModbusRegisterMap.triggerBit != 0
            lastControl[i] = control
            let status = register(i, ModbusRegisterMap.status)
            let readyBit = status.pointee & ModbusRegisterMap.ready
            if trigger && !was && !pending[i] {
                status.pointee = readyBit | ModbusRegisterMap.busy
                let base = ModbusRegisterMap.base(ofCamera: i) + ModbusRegisterMap.partID
                let raw = UnsafeBufferPointer(start: mapping.pointee.tab_registers + base, count: ModbusRegisterMap.partIDRegisters)
                if let partID = ModbusRegisterMap.decodePartID(raw) {
                    pending[i] = true
                    runningPart[i] = partID
                    outOfOrder[i] = false
                    started.append((camera, partID))
                } else {
                    logger.warning("plc.modbus: \(camera) triggered without a valid part id (registers \(base)…\(base + 31))")
                    write(i, .failed(.badPartID))
                }
            } else if trigger && !was && pending[i] {
                // Set again while busy: the PLC dropped trigger early and re-triggered. No second inspection; the
                // running one's result is withheld (error 7), since the PLC would take it for the new part.
                logger.warning("plc.modbus: \(camera) triggered again while busy; the running inspection's result is withheld")
                outOfOrder[i] = true
                status.pointee = readyBit | ModbusRegisterMap.busy | ModbusRegisterMap.error
            } else if !trigger && was {
                // The PLC acknowledged: done and error clear; busy stays while an inspection still runs.
                status.pointee = readyBit | (pending[i] ? ModbusRegisterMap.busy : 0)
            }
        }
        return started
    }

    private func startInspection(camera: String, partID: String) {
        handler(camera, partID) { [weak self] outcome in
            guard let self, let i = settings.cameras.firstIndex(of: camera) else { return }
            lock.withLock {
                pending[i] = false
                let base = ModbusRegisterMap.base(ofCamera: i) + ModbusRegisterMap.partID
                let now = ModbusRegisterMap.decodePartID(
                    UnsafeBufferPointer(start: mapping.pointee.tab_registers + base, count: ModbusRegisterMap.partIDRegisters))
                if outOfOrder[i] {
                    write(i, .failed(.outOfOrder, sequence: outcome.sequence))
                } else if now != runningPart[i] {
                    logger.warning("plc.modbus: \(camera)'s part id changed from \(runningPart[i] ?? "") to \(now ?? "(none)") during its inspection; result withheld")
                    write(i, .failed(.partIDChanged, sequence: outcome.sequence))
                } else {
                    write(i, outcome)
                }
                runningPart[i] = nil; outOfOrder[i] = false
            }
        }
    }

    /// Writes an outcome into camera `i`'s block and sets done or error (with `lock` held).
    private func write(_ i: Int, _ outcome: TriggerOutcome) {
        register(i, ModbusRegisterMap.verdict).pointee = outcome.verdict.rawValue
        register(i, ModbusRegisterMap.defectCount).pointee = UInt16(clamping: outcome.defectCount)
        register(i, ModbusRegisterMap.errorCode).pointee = outcome.error.rawValue
        let sequence = UInt32(truncatingIfNeeded: outcome.sequence)
        register(i, ModbusRegisterMap.sequence).pointee = UInt16(sequence >> 16)
        register(i, ModbusRegisterMap.sequence + 1).pointee = UInt16(sequence & 0xFFFF)
        for k in 0..<ModbusRegisterMap.classCountSlots {
            register(i, ModbusRegisterMap.classCounts + k).pointee =
                k < outcome.classCounts.count ? UInt16(clamping: outcome.classCounts[k]) : 0
        }
        let handshake = register(i, ModbusRegisterMap.handshake)
        handshake.pointee &+= 1
        let status = register(i, ModbusRegisterMap.status)
        status.pointee = (status.pointee & ModbusRegisterMap.ready)
            | (outcome.error == .none ? ModbusRegisterMap.done : ModbusRegisterMap.done | ModbusRegisterMap.error)
    }

    private func register(_ camera: Int, _ offset: Int) -> UnsafeMutablePointer<UInt16> {
        mapping.pointee.tab_registers + ModbusRegisterMap.base(ofCamera: camera) + offset
    }
}

/// The Modbus server could not start.
public struct ModbusServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
