"""Writes the golden-board training set: every DeepPCB tested image composed with its template into one
three-channel PNG, R = tested image, G = template (golden board), B = |tested - template| (all grayscale, 8 bit),
the layout the reference models declare in their metadata (`inspectd.input: frame,reference,absdiff`) and that
inspectd composes at run time (Sources/Imaging/Reference). PNG, not JPEG: the difference channel must stay exact.
Pairs are taken as DeepPCB gives them (already registered by the dataset's authors); train_reference.py adds
small random misregistration during training, so the model tolerates what the daemon's alignment leaves.
Usage: python compose_reference_dataset.py ../../../shared/datasets/deeppcb OUT_DIR   (writes OUT_DIR/data.yaml)"""
import sys
from pathlib import Path
import cv2
import numpy as np
import yaml

src, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
names = yaml.safe_load((src / 'data.yaml').read_text())['names']
for split in ('train', 'val'):
    (out / 'images' / split).mkdir(parents=True, exist_ok=True)
    (out / 'labels' / split).mkdir(parents=True, exist_ok=True)
    images = sorted((src / 'images' / split).glob('*.jpg'))
    for p in images:
        tested = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        template = cv2.imread(str(src / 'templates' / split / p.name), cv2.IMREAD_GRAYSCALE)
        if tested is None or template is None or tested.shape != template.shape:
            sys.exit(f'{p.name}: tested image or template missing or of different size')
        diff = cv2.absdiff(tested, template)
        cv2.imwrite(str(out / 'images' / split / (p.stem + '.png')), np.dstack([diff, template, tested]))  # BGR order
        label = src / 'labels' / split / (p.stem + '.txt')
        (out / 'labels' / split / label.name).write_text(label.read_text() if label.exists() else '')
    print(split, len(images), 'pairs')
(out / 'data.yaml').write_text(yaml.safe_dump({'path': str(out), 'train': 'images/train', 'val': 'images/val',
                                               'names': names}, sort_keys=False))
