"""Stages 4 to 7 of the default DeepPCB detector: a fine-tune in bfloat16 mixed precision on the CPU.
Usage: YOLO_OFFLINE=1 python train_bf16.py START.pt RUN_DIR EPOCHS [--workers 2] [--close-mosaic 8]
                                             [--scale 0.5] [--save-period -1] [--transpose 0] [--restart]
  START: an unfinished run's last.pt (train_long.py's, or an epochN.pt it kept): that run continues, keeping its optimizer state, EMA
         and epoch count, with its cosine schedule re-planned to end at EPOCHS; the last CLOSE_MOSAIC epochs are
         without mosaic. train_long.py is the one way to start a schedule from a finished model.
  --scale: Ultralytics' random zoom (1 +/- SCALE); --save-period N keeps every Nth epoch's weights as well.
  --transpose P: swap the image's x and y axes with probability P (with the flips: all eight right-angle
         orientations of a board); --restart: keep START's weights, optimizer state and EMA but begin a new
         EPOCHS-long cosine schedule (at its 2nd epoch: Ultralytics only resumes after a finished epoch).
  The defaults are what stage 4 of the default model ran with.
  Run it again with the same RUN_DIR and options to resume an interrupted run from RUN_DIR/ft_bf16/weights/last.pt.

Why bf16 and how: bf16_cpu.py.
Ultralytics also forces workers=0 on CPU; --workers (default 2) puts the mosaic loading in worker processes
beside the training threads."""
import argparse
import random
import sys
from pathlib import Path
import numpy as np
import torch
import ultralytics.data.dataset as dataset_module
from ultralytics import YOLO
import bf16_cpu

bf16_cpu.install()

class RandomTranspose:
    """Swaps the image's x and y axes (and the boxes') with probability p: with both flips, all eight
    orientations of a board that keep boxes axis-aligned (PCB traces run the same ways turned by 90 degrees)."""
    def __init__(self, p): self.p = p
    def __call__(self, labels):
        if random.random() < self.p:
            labels['img'] = np.ascontiguousarray(labels['img'].transpose(1, 0, 2))
            instances = labels['instances']
            instances.convert_bbox(format='xywh')
            instances._bboxes.bboxes = np.ascontiguousarray(instances.bboxes[:, [1, 0, 3, 2]])
            instances.segments = np.ascontiguousarray(instances.segments[..., ::-1])
        return labels

def with_transpose(p):
    v8_transforms = dataset_module.v8_transforms
    def transforms(dataset, imgsz, hyp):
        composed = v8_transforms(dataset, imgsz, hyp)
        composed.append(RandomTranspose(p))
        return composed
    dataset_module.v8_transforms = transforms  # also rebuilt by close_mosaic

cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
cli.add_argument('start', type=Path); cli.add_argument('run_dir', type=Path); cli.add_argument('epochs', type=int)
cli.add_argument('--workers', type=int, default=2); cli.add_argument('--close-mosaic', type=int, default=8)
cli.add_argument('--scale', type=float, default=0.5); cli.add_argument('--save-period', type=int, default=-1)
cli.add_argument('--transpose', type=float, default=0.0); cli.add_argument('--restart', action='store_true')
opt = cli.parse_args()
if opt.transpose > 0: with_transpose(opt.transpose)
start, run_dir, epochs, workers = opt.start, opt.run_dir.resolve(), opt.epochs, opt.workers
save_dir = run_dir / 'ft_bf16'
last = save_dir / 'weights' / 'last.pt'

def keep_workers(trainer):
    trainer.args.workers = workers

if not last.exists():
    ckpt = torch.load(start, map_location='cpu', weights_only=False)
    if ckpt.get('optimizer') is None:
        sys.exit(f"{start} is a finished model (no optimizer state): start a schedule from it with train_long.py, "
                 "then continue that run's last.pt here")
    # an unfinished run's last.pt: continue it (optimizer momentum, EMA, epoch count), its cosine schedule
    # re-planned to end at EPOCHS, in bf16, saving into RUN_DIR
    new = dict(epochs=epochs, amp='bf16', deterministic=False, project=str(run_dir), name='ft_bf16',
               save_dir=str(save_dir), close_mosaic=opt.close_mosaic, scale=opt.scale, save_period=opt.save_period,
               resume=str(last), model=str(last))
    ckpt['train_args'].update(new)
    if opt.restart: ckpt['epoch'] = 0  # Ultralytics resumes only after an epoch: the new schedule starts at its 2nd
    for m in (ckpt['model'], ckpt['ema']):
        if m is not None: m.args.update(new) if isinstance(m.args, dict) else vars(m.args).update(new)
    last.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, last)
model = YOLO(str(last))
model.add_callback('on_pretrain_routine_start', keep_workers)
model.train(resume=True, workers=workers)
