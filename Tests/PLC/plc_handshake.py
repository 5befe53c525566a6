"""A PLC (pymodbus client) running the trigger handshake against inspectd's Modbus TCP server.
Usage: plc_handshake.py PORT UNIT CAMERA_INDEX
Cycle: write the part id, set trigger, wait for busy then done, read the results, clear trigger, see done clear.
Prints one JSON line per cycle; exits non-zero naming the first broken step."""
import json
import sys
import time

from pymodbus.client import ModbusTcpClient

port, unit, camera = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
BLOCK, CONTROL, STATUS, HANDSHAKE, VERDICT, COUNT, ERROR, SEQ, CLASSES, PART = 64, 0, 1, 2, 3, 4, 5, 6, 8, 16
READY, BUSY, DONE, FAULT = 1, 2, 4, 8
base = camera * BLOCK
plc = ModbusTcpClient("127.0.0.1", port=port, timeout=5)
if not plc.connect():
    sys.exit("FAILED: cannot connect")


def read(offset, count=1):
    r = plc.read_holding_registers(base + offset, count=count, device_id=unit)
    if r.isError():
        sys.exit(f"FAILED: read {offset}: {r}")
    return r.registers


def write(offset, values):
    r = plc.write_registers(base + offset, values, device_id=unit)
    if r.isError():
        sys.exit(f"FAILED: write {offset}: {r}")


def part_registers(text):
    data = text.encode("ascii").ljust(64, b"\0")
    return [data[i] << 8 | data[i + 1] for i in range(0, 64, 2)]


def wait_status(predicate, what, timeout=30):
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        s = read(STATUS)[0]
        if predicate(s):
            return s
        time.sleep(0.01)
    sys.exit(f"FAILED: {what} (status {read(STATUS)[0]:#06b})")


def cycle(part):
    before = read(HANDSHAKE)[0]
    wait_status(lambda s: s & READY and not s & (BUSY | DONE), "ready and idle before the trigger")
    write(PART, part_registers(part))
    write(CONTROL, [1])
    status = wait_status(lambda s: s & DONE, "done after the trigger")
    block = read(0, 16)
    result = {"part": part, "status": status, "handshake": block[HANDSHAKE] - before, "verdict": block[VERDICT],
              "defects": block[COUNT], "error": block[ERROR], "sequence": block[SEQ] << 16 | block[SEQ + 1],
              "classes": block[CLASSES:CLASSES + 8]}
    write(CONTROL, [0])
    wait_status(lambda s: not s & (DONE | FAULT), "done and error clear after the trigger is cleared")
    print(json.dumps(result), flush=True)


for part in sys.argv[4:]:
    cycle(part)
plc.close()
