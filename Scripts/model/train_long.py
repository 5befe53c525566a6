"""Third stage of the default DeepPCB detector: a long fine-tune from the reference checkpoint, resumable
across sessions (Ultralytics keeps last.pt every epoch; run this again to continue where it stopped).
Usage: YOLO_OFFLINE=1 python train_long.py START.pt RUN_DIR [EPOCHS]   (START: ../shared/models/deeppcb-yolov8n.pt)
Runs at 640 (defects are 10-40 px there), batch 16, SGD with a low cosine LR (continuing, not restarting),
mosaic off for the last 10 epochs. Needs the machine to itself: ~3.5 min per epoch on 2 cores."""
import sys
from pathlib import Path
from ultralytics import YOLO
start, run_dir = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 120
data = Path(__file__).resolve().parents[2] / '../shared/datasets/deeppcb/data.yaml'
last = run_dir / 'ft_long' / 'weights' / 'last.pt'
if last.exists():
    YOLO(str(last)).train(resume=True)
else:
    YOLO(str(start)).train(data=str(data.resolve()), epochs=epochs, imgsz=640, batch=16, workers=2, device='cpu',
                           project=str(run_dir), name='ft_long', exist_ok=True, plots=False, amp=False, seed=0,
                           close_mosaic=10, fliplr=0.5, flipud=0.5, cos_lr=True, warmup_epochs=1, patience=0,
                           optimizer='SGD', lr0=0.002)  # 'auto' picks AdamW lr 0.001 here: that restart fell to 0.57 mAP50
