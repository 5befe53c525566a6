"""Rebuilds a trainable Ultralytics checkpoint from a shipped FP32 ONNX export, so a training stage can start from
the committed model when the run directory that made it is gone (training state lives outside the repository).
Usage: python checkpoint_from_onnx.py MODEL.onnx ARCH.pt DATA_DIR OUT.pt [--images 96]
  MODEL.onnx  an FP32 export by export_and_quantize.py (Conv and BatchNorm fused: one weight and bias per Conv)
  ARCH.pt     an Ultralytics checkpoint of the same architecture and classes (e.g. ../shared/models/deeppcb-yolov8n.pt):
              its layers are filled, its weights replaced
  DATA_DIR    composed training images (compose_reference_dataset.py's OUT_DIR/images/train), for BatchNorm statistics
The export folded each BatchNorm into its Conv (w' = w·g/√(v+ε), b' = β − m·g/√(v+ε)). Unfolding keeps w' as the
Conv's weight and gives the BatchNorm the mean m and variance v of w'·x measured on training images, with
g = √(v+ε) and β = b' + m: in eval mode the network computes exactly the export, and in train mode the batch
statistics are close to those running ones, so training continues where the export left off (the optimizer's
momentum is not in an export and starts again from zero). The script checks the rebuilt network against
onnxruntime on the same input and refuses to write a checkpoint that differs."""
import argparse
from pathlib import Path
import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from ultralytics.nn.modules.conv import Conv

cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
cli.add_argument('onnx', type=Path); cli.add_argument('arch', type=Path); cli.add_argument('data', type=Path)
cli.add_argument('out', type=Path); cli.add_argument('--images', type=int, default=96)
opt = cli.parse_args()

graph = onnx.load(str(opt.onnx)).graph
init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
convs = [n for n in graph.node if n.op_type == 'Conv']
ckpt = torch.load(opt.arch, map_location='cpu', weights_only=False)
model = (ckpt.get('ema') or ckpt['model']).float()
named = dict(model.named_modules())
dfl = model.model[-1].dfl.conv
trainable = [m for m in named.values() if isinstance(m, torch.nn.Conv2d) and m is not dfl]
pairs = []  # (ONNX Conv node, the convolution of the same name: torch.onnx keeps the parameter names)
for node in convs:
    name = node.input[1].removesuffix('.weight')
    if named.get(name) is dfl: continue
    if not isinstance(named.get(name), torch.nn.Conv2d):
        raise SystemExit(f'{opt.onnx}: Conv weight {node.input[1]} names no convolution of {opt.arch}')
    pairs.append((node, named[name]))
if len(pairs) != len(trainable) or len({id(c) for _, c in pairs}) != len(trainable):
    raise SystemExit(f'{opt.onnx}: {len(pairs)} Conv nodes, the architecture has {len(trainable)} convolutions')
bn_of = {id(m.conv): m.bn for m in model.modules() if isinstance(m, Conv)}
eps = {}
with torch.no_grad():
    for node, conv in pairs:
        w = torch.from_numpy(init[node.input[1]].copy())
        b = torch.from_numpy(init[node.input[2]].copy()) if len(node.input) > 2 else torch.zeros(w.shape[0])
        if w.shape != conv.weight.shape:
            raise SystemExit(f'{node.name}: weight {tuple(w.shape)} where the architecture has {tuple(conv.weight.shape)}')
        conv.weight.copy_(w)
        bn = bn_of.get(id(conv))
        if bn is None:
            conv.bias.copy_(b); continue
        eps[id(bn)] = bn.eps  # BatchNorm as the identity plus b' for now: eval mode then computes the export
        bn.running_mean.zero_(); bn.running_var.fill_(1 - bn.eps); bn.weight.fill_(1); bn.bias.copy_(b)

def load(path):  # as Ultralytics feeds a 640x640 image: RGB, 0..1, NCHW
    im = cv2.imread(str(path))
    im = cv2.resize(im, (640, 640), interpolation=cv2.INTER_LINEAR) if im.shape[:2] != (640, 640) else im
    return torch.from_numpy(np.ascontiguousarray(im[..., ::-1].transpose(2, 0, 1))).float().div(255)[None]

images = sorted(opt.data.glob('*.png'))[:opt.images]
if not images: raise SystemExit(f'{opt.data}: no composed PNG images')
model.eval()
session = ort.InferenceSession(str(opt.onnx), providers=['CPUExecutionProvider'])
def check(label):
    x = load(images[0])
    with torch.no_grad(): y = model(x)[0].numpy()
    z = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    err = float(np.abs(y - z).max())
    print(f'{label}: largest difference to onnxruntime {err:.2e} (outputs up to {float(np.abs(z).max()):.1f})')
    if err > 1e-2: raise SystemExit('the rebuilt network does not compute the export: not written')
check('identity BatchNorm')

# Per-channel mean and variance of each Conv's output before its BatchNorm, over the images.
sums, hooks = {}, []
def hook(conv):
    def f(_, __, y):
        s = sums.setdefault(id(conv), [0.0, 0.0, 0])
        s[0] = s[0] + y.double().sum((0, 2, 3)); s[1] = s[1] + (y.double() ** 2).sum((0, 2, 3)); s[2] += y.numel() // y.shape[1]
    return f
for conv in trainable:
    if id(conv) in bn_of: hooks.append(conv.register_forward_hook(hook(conv)))
with torch.no_grad():
    for k in range(0, len(images), 8):
        model(torch.cat([load(p) for p in images[k:k + 8]]))
for h in hooks: h.remove()
with torch.no_grad():
    for conv in trainable:
        bn = bn_of.get(id(conv))
        if bn is None: continue
        s0, s1, n = sums[id(conv)]
        m = (s0 / n).float(); v = (s1 / n - (s0 / n) ** 2).clamp_min(0).float()
        b = bn.bias.clone()
        bn.running_mean.copy_(m); bn.running_var.copy_(v); bn.weight.copy_(torch.sqrt(v + bn.eps)); bn.bias.copy_(b + m)
check('BatchNorm with measured statistics')

ckpt = dict(model=model.half(), ema=None, updates=None, optimizer=None, epoch=-1,
            train_args=ckpt.get('train_args', {}), date=None, version=ckpt.get('version'),
            note=f'rebuilt from {opt.onnx.name} by checkpoint_from_onnx.py')
torch.save(ckpt, opt.out)
print(f'wrote {opt.out} ({len(trainable)} convolutions, {len(sums)} BatchNorms from {len(images)} images)')
