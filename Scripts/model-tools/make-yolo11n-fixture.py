#!/usr/bin/env python3
"""Makes the YOLO11n-architecture fixture models (random weights, nc=6, 320x320) for the engine's parity tests.

Run with /work/venv-tools/bin/python (needs torch + ultralytics; CI does not run this, it uses the committed
result): writes Tests/Fixtures/engine/yolo11n-random.onnx and, via onnxruntime quantize_static (QDQ, u8
activations, per-channel s8 weights, Conv/MatMul only), yolo11n-random.int8.onnx.
"""
import os, sys, shutil, tempfile
os.environ["YOLO_OFFLINE"] = "1"
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
out_dir = os.path.join(here, "..", "..", "Tests", "Fixtures", "engine")
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)

from ultralytics import YOLO
work = tempfile.mkdtemp()
os.chdir(work)
import yaml
from ultralytics.nn.tasks import yaml_model_load
cfg = yaml_model_load("yolo11n.yaml")  # the YAML shipped inside ultralytics: no download
cfg["nc"] = 6
cfg.pop("yaml_file", None)
with open(os.path.join(work, "yolo11n.yaml"), "w") as f:  # keep the name: Ultralytics reads the scale "n" from it
    yaml.safe_dump(cfg, f)
model = YOLO(os.path.join(work, "yolo11n.yaml"))
dm = model.model
dm.names = {i: n for i, n in enumerate(["open", "short", "mousebite", "spur", "copper", "pin-hole"])}
# Random init gives near-zero BN stats; set BN to realistic values so activations do not vanish.
for m in dm.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
        m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.2, 0.2)
path = model.export(format="onnx", imgsz=320, opset=17, simplify=True, dynamic=False)
fp32 = os.path.join(out_dir, "yolo11n-random.onnx")
shutil.copy(path, fp32)
print("wrote", fp32, os.path.getsize(fp32))

from onnxruntime.quantization import quantize_static, CalibrationDataReader, QuantFormat, QuantType

class Reader(CalibrationDataReader):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.items = iter([{"images": rng.random((1, 3, 320, 320), dtype=np.float32)} for _ in range(8)])
    def get_next(self):
        return next(self.items, None)

int8 = os.path.join(out_dir, "yolo11n-random.int8.onnx")
quantize_static(fp32, int8, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                op_types_to_quantize=["Conv", "MatMul"])
print("wrote", int8, os.path.getsize(int8))
