"""The golden-board (reference) DeepPCB detector: YOLOv8n on composed inputs (R = tested image, G = template,
B = |tested - template|; compose_reference_dataset.py writes them), trained on the CPU, in bfloat16 where the CPU
has it natively (bf16_cpu.py), else in float32.
Usage: YOLO_OFFLINE=1 python train_reference.py START.pt DATA.yaml RUN_DIR EPOCHS [--workers 2]
           [--close-mosaic 5] [--lr0 0.002] [--misalign 0.5] [--shift 1.0] [--rotation 0.15]
  START: a finished single-image model (../shared/models/deeppcb-yolov8n.pt): its weights start the schedule.
  Run it again with the same RUN_DIR to resume an interrupted run from RUN_DIR/ref/weights/last.pt; a different
  EPOCHS (and --close-mosaic) then re-plans the rest of the cosine schedule to end there (the other
  arguments are taken from the checkpoint).
Augmentation: colour (HSV) augmentation is off, because it would mix the three channels; geometric
augmentation (flips, mosaic, zoom, translation) moves the composed image as a whole, so the channels stay
registered. --misalign P warps the tested image of a pair by a random rigid transform (up to --shift px and
--rotation degrees, bilinear, as the daemon warps a frame onto its reference) with probability P and
recomputes the difference: the daemon's alignment leaves sub-pixel residuals, and the model must not read
them as defects."""
import argparse
import math
import random
from pathlib import Path
import cv2
import numpy as np
import torch
from ultralytics import YOLO
from ultralytics.data import base as base_module
import bf16_cpu

cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
cli.add_argument('start', type=Path); cli.add_argument('data', type=Path); cli.add_argument('run_dir', type=Path)
cli.add_argument('epochs', type=int); cli.add_argument('--workers', type=int, default=2)
cli.add_argument('--close-mosaic', type=int, default=5); cli.add_argument('--lr0', type=float, default=0.002)
cli.add_argument('--misalign', type=float, default=0.5); cli.add_argument('--shift', type=float, default=1.0)
cli.add_argument('--rotation', type=float, default=0.15)
opt = cli.parse_args()
bf16 = bf16_cpu.supported()
if bf16: bf16_cpu.install()

load_image = base_module.BaseDataset.load_image
def misaligned_load_image(self, i, *args, **kwargs):
    im, hw0, hw = load_image(self, i, *args, **kwargs)
    if self.augment and random.random() < opt.misalign:
        # cv2 arrays are BGR: [..., 0] = |tested - template|, [..., 1] = template, [..., 2] = tested
        h, w = im.shape[:2]
        m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), random.uniform(-opt.rotation, opt.rotation), 1.0)
        m[:, 2] += [random.uniform(-opt.shift, opt.shift), random.uniform(-opt.shift, opt.shift)]
        tested = cv2.warpAffine(np.ascontiguousarray(im[..., 2]), m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        im = np.dstack([cv2.absdiff(tested, im[..., 1]), im[..., 1], tested])
    return im, hw0, hw
base_module.BaseDataset.load_image = misaligned_load_image

run_dir = opt.run_dir.resolve()
last = run_dir / 'ref' / 'weights' / 'last.pt'
workers = opt.workers
def keep_workers(trainer):  # Ultralytics forces workers=0 on the CPU; mosaic loading in workers runs beside training
    trainer.args.workers = workers

if last.exists():
    ckpt = torch.load(last, map_location='cpu', weights_only=False)
    if ckpt['train_args']['epochs'] != opt.epochs:  # re-plan: the LR lambda and close_mosaic read these
        print(f"re-planning {last}: {ckpt['train_args']['epochs']} -> {opt.epochs} epochs, mosaic off for the last {opt.close_mosaic}")
        new = dict(epochs=opt.epochs, close_mosaic=opt.close_mosaic)
        ckpt['train_args'].update(new)
        for m in (ckpt['model'], ckpt['ema']):
            if m is not None: m.args.update(new) if isinstance(m.args, dict) else vars(m.args).update(new)
        torch.save(ckpt, last)
    model = YOLO(str(last)); model.add_callback('on_pretrain_routine_start', keep_workers)
    model.train(resume=True, workers=workers)
else:
    model = YOLO(str(opt.start)); model.add_callback('on_pretrain_routine_start', keep_workers)
    model.train(data=str(opt.data.resolve()), epochs=opt.epochs, imgsz=640, batch=16, workers=workers, device='cpu',
                project=str(run_dir), name='ref', exist_ok=True, plots=False, amp='bf16' if bf16 else False, seed=0, deterministic=False,
                close_mosaic=opt.close_mosaic, fliplr=0.5, flipud=0.5, hsv_h=0.0, hsv_s=0.0, hsv_v=0.0,
                scale=0.25, cos_lr=True, warmup_epochs=0, patience=0, optimizer='SGD', lr0=opt.lr0, save_period=1)
