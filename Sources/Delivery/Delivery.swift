// Delivery: the audit store (SQLite through GRDB), the outbox, the MQTT client (libmosquitto) and snapshots.
// See issue 5; the public API the daemon calls is documented on each type.
import CMosquitto
import GRDB
