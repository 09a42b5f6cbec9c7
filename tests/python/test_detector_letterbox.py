"""vasdk.Detector with letterboxing: inputs whose size and aspect differ from the network's,
checked against onnxruntime-Python plus numpy with a letterbox written here, and the six
walkers of vtest.avi frame 300 checked against boxes labelled by hand.

yolov3-tiny's own card stretches (darknet does not letterbox); these tests give it letterbox
cards, one at the card's 768x576 and one at 416x416, so the content rectangle, the pad and
the mapping of boxes back to the source all matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from hand_labels import VTEST_300_WALKERS, iou, match_labels
from scipy.optimize import linear_sum_assignment

import vasdk

PAD = 114


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def letterbox(bgr: np.ndarray, w: int, h: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """RGB float canvas of w x h: the image resized to fit (bilinear, in float, as vasdk
    does, so no uint8 rounding in between), centred, padded with PAD; and the content
    rectangle (x0, y0, cw, ch)."""
    ih, iw = bgr.shape[:2]
    s = min(w / iw, h / ih)
    cw, ch = min(w, round(iw * s)), min(h, round(ih * s))
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    canvas = np.full((h, w, 3), PAD, np.float32)
    canvas[y0:y0 + ch, x0:x0 + cw] = cv2.resize(bgr.astype(np.float32), (cw, ch),
                                                interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB), (x0, y0, cw, ch)


def reference(model: Path, card: dict, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (source pixels), scores and class ids from ORT-Python and a numpy decoder."""
    w, h = card["input"]["width"], card["input"]["height"]
    rgb, (x0, y0, cw, ch) = letterbox(bgr, w, h)
    blob = np.ascontiguousarray((rgb * np.float32(card["input"]["scale"])).transpose(2, 0, 1)[None])
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    outs = dict(zip(names, sess.run(None, {card["input"]["name"]: blob})))
    thr, ncls = card["score_threshold"], len(card["classes"])
    boxes, scores, classes = [], [], []
    for head in card["decoder"]["outputs"]:
        t = outs[head["name"]][0]
        gh, gw = t.shape[1:]
        t = t.reshape(len(head["anchors"]), 5 + ncls, gh, gw)
        for a, (aw, ah) in enumerate(head["anchors"]):
            p = t[a]
            best = p[5:].argmax(axis=0)
            score = _sigmoid(p[4]) * _sigmoid(np.take_along_axis(p[5:], best[None], 0)[0])
            ys, xs = np.nonzero(score >= thr)
            cx = (_sigmoid(p[0, ys, xs]) + xs) * (w / gw)
            cy = (_sigmoid(p[1, ys, xs]) + ys) * (h / gh)
            bw, bh = np.exp(p[2, ys, xs]) * aw, np.exp(p[3, ys, xs]) * ah
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1))
            scores.append(score[ys, xs])
            classes.append(best[ys, xs])
    b = np.concatenate(boxes).astype(np.float32)
    s, c = np.concatenate(scores).astype(np.float32), np.concatenate(classes).astype(np.int32)
    keep: list[int] = []
    for k in np.unique(c):
        idx = np.nonzero(c == k)[0]
        xywh = [[float(x[0]), float(x[1]), float(x[2] - x[0]), float(x[3] - x[1])] for x in b[idx]]
        kept = cv2.dnn.NMSBoxes(xywh, s[idx].tolist(), 0.0, card["nms_iou"])
        keep.extend(idx[np.asarray(kept, dtype=int).ravel()])
    order = np.array(sorted(keep, key=lambda i: -s[i]), dtype=int)
    # Network pixels -> source pixels through the content rectangle the resize produced.
    ih, iw = bgr.shape[:2]
    out = (b[order] - np.array([x0, y0, x0, y0], np.float32)) * np.array(
        [iw / cw, ih / ch, iw / cw, ih / ch], np.float32)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, iw)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, ih)
    return out, s[order], c[order]


def letterbox_card(assets: Path, tmp_path: Path, w: int, h: int) -> tuple[Path, dict]:
    card = json.loads((assets / "yolov3-tiny.json").read_text())
    card["input"].update(width=w, height=h, resize="letterbox", pad_value=PAD)
    card["model"] = str(assets / "yolov3-tiny.onnx")
    path = tmp_path / f"yolov3-tiny-letterbox-{w}x{h}.json"
    path.write_text(json.dumps(card))
    return path, card


def video_frame(path: Path, index: int) -> np.ndarray:
    with vasdk.VideoReader(path) as r:
        for i, f in enumerate(r):
            if i == index:
                return np.ascontiguousarray(f)
    raise AssertionError(f"{path.name} has fewer than {index + 1} frames")


@pytest.mark.parametrize(
    ("source", "size"),
    [
        ("messi5.jpg", (768, 576)),  # 548x342: wider than 4:3, padded top and bottom
        ("Megamind.avi:60", (768, 576)),  # 720x528: nearly 4:3, a few columns of pad
        ("vtest.avi:300", (416, 416)),  # 768x576 into a square: 52 rows of pad each side
    ],
)
def test_letterboxed_detections_match_onnxruntime_reference(
    assets: Path, tmp_path: Path, source: str, size: tuple[int, int]
) -> None:
    name, _, index = source.partition(":")
    bgr = video_frame(assets / name, int(index)) if index else cv2.imread(str(assets / name))
    assert bgr is not None
    card_path, card = letterbox_card(assets, tmp_path, *size)
    det = vasdk.Detector(assets / "yolov3-tiny.onnx", card=str(card_path), threads=2)
    assert det.input_size == size
    got = det(bgr)
    ref_boxes, ref_scores, ref_classes = reference(assets / "yolov3-tiny.onnx", card, bgr)
    # Something must be found, else the comparison below proves nothing.
    assert len(ref_scores) >= 1 and len(got) == len(ref_scores), (got.names, ref_classes)
    # Pair detections by class and overlap: two of nearly equal score may come out in either
    # order.
    same = got.class_ids[:, None] == ref_classes[None, :]
    rows, cols = linear_sum_assignment(-(iou(got.boxes, ref_boxes) * same))
    assert same[rows, cols].all()
    np.testing.assert_allclose(got.scores[rows], ref_scores[cols], rtol=1e-3)
    np.testing.assert_allclose(got.boxes[rows], ref_boxes[cols], rtol=1e-3, atol=1e-2)


def test_six_walkers_in_frame_300_against_hand_labels(assets: Path) -> None:
    frame = video_frame(assets / "vtest.avi", 300)
    det = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2, classes=["person"])
    d = det(frame)
    people = d.boxes[d.scores >= 0.5]
    assert len(people) == 6, d.scores
    pairs = match_labels(VTEST_300_WALKERS, people)
    # Every walker found by its own detection, lying inside the hand-drawn box.
    assert sorted(r for r, _, _ in pairs) == list(range(6)), pairs
    # IoU >= 0.5 is not reached: this model's boxes on people this small cover the torso,
    # not head to feet (OpenCV's darknet loader gives the same boxes), IoU 0.26-0.34. 0.2
    # still rejects a box that sits on the wrong walker.
    assert min(v for _, _, v in pairs) >= 0.2, pairs
