#!/usr/bin/env python3
"""Does the DeepPCB detector find the synthetic camera's defects? (issue 8's demo goal: >= 80% found,
<= 10% false alarms.)

Runs an Ultralytics-exported ONNX model with onnxruntime on frames dumped by the synthetic source
(images/*.jpg + labels/*.txt in YOLO format), with Ultralytics-style letterbox and NMS, and prints recall and
false alarms against the ground truth.

  INSPECTD_SYNTHETIC_DUMP=/tmp/syn swift test --filter SyntheticSourceTests/testDumpFramesForModelCheck
  $INSPECTD_PYTHON Scripts/model-tools/check-synthetic.py /tmp/syn [--model ../shared/models/deeppcb-yolov8n.onnx]
"""
import argparse, glob, os, sys
import cv2, numpy as np, onnxruntime as ort

def letterbox(img, size):
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    nw, nh = int(round(w * r)), int(round(h * r))
    dw, dh = (size - nw) / 2, (size - nh) / 2
    if (w, h) != (nw, nh):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    img = cv2.copyMakeBorder(img, top, size - nh - top, left, size - nw - left, cv2.BORDER_CONSTANT, value=(114,) * 3)
    return img, r, left, top

def iou(a, b):
    x1, y1 = np.maximum(a[0], b[:, 0]), np.maximum(a[1], b[:, 1])
    x2, y2 = np.minimum(a[2], b[:, 2]), np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter + 1e-9)

def detect(sess, img, conf, nms_iou, size=640):
    lb, r, px, py = letterbox(img, size)
    x = cv2.cvtColor(lb, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0][0].T  # (8400, 4 + classes)
    scores = out[:, 4:]
    cls = scores.argmax(1); score = scores.max(1)
    keep = score > conf
    b, cls, score = out[keep, :4], cls[keep], score[keep]
    boxes = np.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], 1)
    dets = []
    for c in np.unique(cls):  # per-class NMS
        idx = np.where(cls == c)[0]
        idx = idx[np.argsort(-score[idx])]
        while len(idx):
            i = idx[0]; dets.append((int(c), float(score[i]), boxes[i]))
            idx = idx[1:][iou(boxes[i], boxes[idx[1:]]) < nms_iou]
    return [(c, s, (bx - [px, py, px, py]) / r) for c, s, bx in dets]

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--model", default=os.path.join(here, "../../../shared/models/deeppcb-yolov8n.onnx"))
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--nms-iou", type=float, default=0.7)
    ap.add_argument("--match-iou", type=float, default=0.3)
    a = ap.parse_args()
    sess = ort.InferenceSession(a.model, providers=["CPUExecutionProvider"])
    names = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
    n_gt = found = found_cls = n_det = false = 0
    per = np.zeros((6, 2), int)
    for path in sorted(glob.glob(os.path.join(a.dump, "images", "*.jpg"))):
        img = cv2.imread(path)
        h, w = img.shape[:2]
        lab = path.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        gt = np.loadtxt(lab, ndmin=2) if os.path.getsize(lab) else np.zeros((0, 5))
        gtb = np.stack([(gt[:, 1] - gt[:, 3] / 2) * w, (gt[:, 2] - gt[:, 4] / 2) * h,
                        (gt[:, 1] + gt[:, 3] / 2) * w, (gt[:, 2] + gt[:, 4] / 2) * h], 1) if len(gt) else np.zeros((0, 4))
        dets = detect(sess, img, a.conf, a.nms_iou)
        n_gt += len(gt); n_det += len(dets)
        hit = np.zeros(len(gt), bool); hit_cls = np.zeros(len(gt), bool)
        for c, s, b in dets:
            ious = iou(b, gtb) if len(gt) else np.zeros(0)
            if len(ious) and ious.max() >= a.match_iou:
                j = ious.argmax(); hit[j] = True
                hit_cls[j] |= int(gt[j, 0]) == c
            else:
                false += 1
        found += hit.sum(); found_cls += hit_cls.sum()
        for k in range(len(gt)):
            per[int(gt[k, 0]), 0] += 1; per[int(gt[k, 0]), 1] += hit[k]
    print(f"frames {len(glob.glob(os.path.join(a.dump, 'images', '*.jpg')))}, injected defects {n_gt}, detections {n_det} (conf > {a.conf})")
    print(f"found {found}/{n_gt} = {found / max(n_gt, 1):.1%} (same class: {found_cls / max(n_gt, 1):.1%}); "
          f"false alarms {false}/{n_det} = {false / max(n_det, 1):.1%}")
    for k in range(6):
        print(f"  {names[k]:10s} found {per[k, 1]}/{per[k, 0]}")

if __name__ == "__main__":
    sys.exit(main())
