#!/usr/bin/env python3
"""Writes Tests/Fixtures/detection/nms-cases.json: NMS parity cases with torchvision's answers.

Needs torch and torchvision (run with /work/venv-tools/bin/python or any venv that has them); the result is
committed, so CI does not need torch. Cases:
  - random boxes (several sizes, IoU thresholds, class-aware and class-agnostic), including score ties,
    zero-width/zero-height and inverted boxes, duplicates, and a case large enough (> 1000 boxes) for
    torchvision's per-class ("vanilla") batched_nms path;
  - real candidate sets: onnxruntime runs the reference DeepPCB model on a few val images; boxes above
    confidence 0.005 (best class per box, as the daemon decodes) in model-input pixels.
Kept indices are written in the canonical order our Swift code returns: score descending, then index
ascending (torchvision's CPU nms sorts stably, so within one class this is its own order; across classes
batched_nms' final sort is not stable, hence the canonical re-sort of the same set).

Usage: make-nms-fixtures.py [--shared DIR] [--out FILE]
"""
import argparse, json, os, sys
import numpy as np
import torch, torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def f32(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def run_case(name, boxes, scores, classes, iou, agnostic):
    b = torch.from_numpy(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
    s = torch.from_numpy(np.asarray(scores, dtype=np.float32))
    c = torch.from_numpy(np.asarray(classes, dtype=np.int64))
    if agnostic:
        keep = torchvision.ops.nms(b, s, iou)
    else:
        keep = torchvision.ops.batched_nms(b, s, c, iou)
        # Both torchvision strategies must agree on the set, or the case tests torchvision's rounding, not ours.
        vanilla = torchvision.ops.boxes._batched_nms_vanilla(b, s, c, iou)
        trick = torchvision.ops.boxes._batched_nms_coordinate_trick(b, s, c, iou)
        if set(vanilla.tolist()) != set(trick.tolist()):
            print(f"{name}: torchvision's two batched_nms paths disagree; case skipped", file=sys.stderr)
            return None
    keep = sorted(keep.tolist(), key=lambda i: (-float(s[i]), i))
    return {"name": name, "iou": iou, "class_agnostic": agnostic, "boxes": f32(boxes), "scores": f32(scores),
            "classes": [int(v) for v in classes], "keep": keep}


def random_cases(rng):
    cases = []
    for n, iou, agnostic, ties, degenerate in [
        (10, 0.5, False, False, False), (50, 0.3, False, False, False), (50, 0.7, False, True, False),
        (200, 0.3, False, True, True), (200, 0.45, True, False, True), (300, 0.5, True, True, False),
        (400, 0.0, False, False, False), (400, 1.0, False, False, True), (1100, 0.3, False, True, True),
        (1100, 0.7, False, False, False), (0, 0.5, False, False, False), (1, 0.5, True, False, False),
    ]:
        # Clustered boxes, as a detector proposes them: several around each object.
        centres = rng.uniform(0, 640, size=(max(1, n // 8), 2))
        pick = rng.integers(0, len(centres), size=n)
        sizes = rng.uniform(6, 60, size=(len(centres), 2))
        cxy = centres[pick] + rng.normal(0, 3, size=(n, 2))
        wh = sizes[pick] * rng.uniform(0.8, 1.2, size=(n, 2))
        boxes = np.concatenate([cxy - wh / 2, cxy + wh / 2], axis=1)
        if degenerate and n:
            k = max(1, n // 10)
            idx = rng.choice(n, size=k, replace=False)
            boxes[idx[: k // 3 + 1], 2] = boxes[idx[: k // 3 + 1], 0]          # zero width
            boxes[idx[k // 3 + 1: 2 * k // 3 + 1], 3] = boxes[idx[k // 3 + 1: 2 * k // 3 + 1], 1]  # zero height
            inv = idx[2 * k // 3 + 1:]
            boxes[inv] = boxes[inv][:, [2, 3, 0, 1]]                              # inverted
            dup = rng.choice(n, size=k, replace=False)
            boxes[dup[1:]] = boxes[dup[0]]                                        # identical boxes
        scores = rng.uniform(0.001, 1, size=n)
        if ties:
            scores = rng.choice(np.array([0.25, 0.5, 0.5000001, 0.75, 0.9]), size=n)
        classes = rng.integers(0, 6, size=n)
        case = run_case(f"random-{n}-iou{iou}-{'agnostic' if agnostic else 'aware'}{'-ties' if ties else ''}"
                        f"{'-degenerate' if degenerate else ''}", boxes, scores, classes, iou, agnostic)
        if case:
            cases.append(case)
    return cases


def real_cases(shared):
    import cv2, onnxruntime as ort
    model = os.path.join(shared, "models", "deeppcb-yolov8n.onnx")
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    val = os.path.join(shared, "datasets", "deeppcb", "images", "val")
    cases = []
    for name in sorted(os.listdir(val))[:3]:
        image = cv2.imread(os.path.join(val, name))
        image = cv2.resize(image, (640, 640))  # DeepPCB images are 640×640 already
        x = image[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
        out = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(x)})[0][0]  # [10, 8400]
        xywh, cls = out[:4].T, out[4:].T
        score, label = cls.max(1), cls.argmax(1)
        keep = score >= 0.005
        xywh, score, label = xywh[keep], score[keep], label[keep]
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
        for iou, agnostic in [(0.7, False), (0.3, False), (0.5, True)]:
            case = run_case(f"deeppcb-{name}-iou{iou}-{'agnostic' if agnostic else 'aware'}", boxes, score, label,
                            iou, agnostic)
            if case:
                cases.append(case)
    return cases


def decode_case(shared, out_dir):
    """Raw model output for one DeepPCB val image (float32 [10, 8400], committed as binary, so the test does not
    depend on onnxruntime's CPU-specific rounding) and Ultralytics' own post-processing of it:
    ultralytics.utils.nms.non_max_suppression + scale_boxes (+ clipping) for a 1280×720 frame letterboxed into
    640×640 (scale 0.5, pad y 140)."""
    import cv2, onnxruntime as ort
    from ultralytics.utils.nms import non_max_suppression
    from ultralytics.utils.ops import scale_boxes
    session = ort.InferenceSession(os.path.join(shared, "models", "deeppcb-yolov8n.onnx"),
                                   providers=["CPUExecutionProvider"])
    val = os.path.join(shared, "datasets", "deeppcb", "images", "val")
    name = sorted(os.listdir(val))[1]
    image = cv2.imread(os.path.join(val, name))
    x = image[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255
    out = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(x)})[0]   # [1, 10, 8400]
    out.astype("<f4").tofile(os.path.join(out_dir, "deeppcb-output.bin"))
    cases = []
    for conf, iou, multi_label in [(0.25, 0.7, False), (0.25, 0.3, False), (0.001, 0.7, True)]:
        det = non_max_suppression(torch.from_numpy(out.copy()), conf, iou, multi_label=multi_label, max_det=300)[0]
        boxes = scale_boxes((640, 640), det[:, :4].clone(), (720, 1280), ratio_pad=((0.5, 0.5), (0, 140)))
        cases.append({"conf": conf, "iou": iou, "labels": "all" if multi_label else "best",
                      "boxes": f32(boxes.numpy()), "scores": f32(det[:, 4].numpy()),
                      "classes": [int(v) for v in det[:, 5].tolist()]})
    with open(os.path.join(out_dir, "deeppcb-ultralytics.json"), "w") as f:
        json.dump({"generator": "Scripts/model-tools/make-nms-fixtures.py", "image": name, "shape": list(out.shape),
                   "mapping": {"scale": 0.5, "pad_x": 0, "pad_y": 140, "width": 1280, "height": 720},
                   "cases": cases}, f, separators=(",", ":"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("INSPECTD_SHARED", os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "detection", "nms-cases.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(20261124)
    cases = random_cases(rng) + real_cases(args.shared)
    with open(args.out, "w") as f:
        json.dump({"generator": "Scripts/model-tools/make-nms-fixtures.py", "torchvision": torchvision.__version__,
                   "cases": cases}, f, separators=(",", ":"))
    print(f"wrote {len(cases)} cases to {args.out}")
    decode_case(args.shared, os.path.dirname(args.out))


if __name__ == "__main__":
    main()
