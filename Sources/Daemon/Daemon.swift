// Daemon: config model and validation, pipeline and worker pool, lifecycle, metrics/health HTTP.
import Capture
import Delivery
import Detection
import Engine
import Imaging
