"""bfloat16 mixed precision for Ultralytics training on the CPU (used by train_bf16.py and train_reference.py).

On this 2-core Zen 4 (AVX512_BF16) one forward+backward of YOLOv8n at batch 16 / 640 takes 4.4 s in float32 and
2.0 s under torch.autocast(cpu, bfloat16) (oneDNN bf16 convolutions). Ultralytics only allows its amp="bf16" on
CUDA, so `install()` makes two small patches:
  - the trainer's autocast context becomes torch's CPU bf16 autocast (weights, optimizer and EMA stay float32);
  - the loss runs in float32 on float32 copies of the predictions (box regression and the assigner need it).
Validation and export run the float32 EMA weights. Without AVX512_BF16 or AMX, bfloat16 convolutions may not be
faster than float32 (only this AVX512_BF16 machine was measured)."""
import torch
import ultralytics.engine.trainer as trainer_module
from ultralytics.utils import loss as loss_module


def _cpu_autocast(enabled, device='cuda'):
    return torch.amp.autocast('cpu', dtype=torch.bfloat16, enabled=bool(enabled))


def _to_float(x):
    if torch.is_tensor(x): return x.float()
    if isinstance(x, dict): return {k: _to_float(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return type(x)(_to_float(v) for v in x)
    return x


def supported():
    """True when the CPU has native bfloat16 arithmetic (AVX512_BF16 or AMX): elsewhere torch emulates it, and
    one batch takes minutes (seen on a 2-core AVX2 EPYC: 340 s for a batch of 16) instead of seconds."""
    try:
        flags = open('/proc/cpuinfo').read().split()
    except OSError:
        return False
    return 'avx512_bf16' in flags or 'amx_bf16' in flags


def install():
    detection_loss = loss_module.v8DetectionLoss.__call__

    def float_loss(self, preds, batch):
        with torch.amp.autocast('cpu', enabled=False):
            return detection_loss(self, _to_float(preds), batch)

    trainer_module.autocast = _cpu_autocast
    loss_module.v8DetectionLoss.__call__ = float_loss
