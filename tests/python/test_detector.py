"""vasdk.Detector on the real yolov3-tiny and vtest.avi, against an independent reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

import vasdk


@pytest.fixture(scope="module")
def model(assets: Path) -> Path:
    return assets / "yolov3-tiny.onnx"


@pytest.fixture(scope="module")
def frame300(assets: Path) -> np.ndarray:
    with vasdk.VideoReader(assets / "vtest.avi") as r:
        for i, f in enumerate(r):
            if i == 300:
                return f
    raise AssertionError("vtest.avi has fewer than 301 frames")


@pytest.fixture(scope="module")
def detector(model: Path) -> vasdk.Detector:
    return vasdk.Detector(model, threads=2)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def reference_detect(model: Path, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """onnxruntime-Python + numpy decoding of the same ONNX file, written from the model card."""
    card = json.loads(model.with_suffix(".json").read_text())
    w, h = card["input"]["width"], card["input"]["height"]
    rgb = cv2.cvtColor(cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
    blob = (rgb.astype(np.float32) * np.float32(card["input"]["scale"])).transpose(2, 0, 1)[None]
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {card["input"]["name"]: blob})))
    thr, ncls = card["score_threshold"], len(card["classes"])
    boxes, scores, classes = [], [], []
    for head in card["decoder"]["outputs"]:
        t = outs[head["name"]][0]
        na = len(head["anchors"])
        gh, gw = t.shape[1:]
        t = t.reshape(na, 5 + ncls, gh, gw)
        sx, sy = w / gw, h / gh
        for a, (aw, ah) in enumerate(head["anchors"]):
            p = t[a]
            best = p[5:].argmax(axis=0)
            score = _sigmoid(p[4]) * _sigmoid(np.take_along_axis(p[5:], best[None], 0)[0])
            ys, xs = np.nonzero(score >= thr)
            for y, x in zip(ys, xs):
                cx = (_sigmoid(p[0, y, x]) + x) * sx
                cy = (_sigmoid(p[1, y, x]) + y) * sy
                bw, bh = np.exp(p[2, y, x]) * aw, np.exp(p[3, y, x]) * ah
                boxes.append([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
                scores.append(score[y, x])
                classes.append(best[y, x])
    boxes_a = np.array(boxes, np.float32).reshape(-1, 4)
    scores_a, classes_a = np.array(scores, np.float32), np.array(classes, np.int32)
    keep = []
    for c in np.unique(classes_a):
        idx = np.nonzero(classes_a == c)[0]
        kept = cv2.dnn.NMSBoxes(
            [[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])] for b in boxes_a[idx]],
            scores_a[idx].tolist(), 0.0, card["nms_iou"])
        keep.extend(idx[np.asarray(kept, dtype=int).ravel()])
    keep_a = np.array(sorted(keep, key=lambda i: -scores_a[i]), dtype=int)
    sx_img, sy_img = frame_bgr.shape[1] / w, frame_bgr.shape[0] / h
    out = boxes_a[keep_a] * np.array([sx_img, sy_img, sx_img, sy_img], np.float32)
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, frame_bgr.shape[1])
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, frame_bgr.shape[0])
    return out, scores_a[keep_a], classes_a[keep_a]


def test_finds_all_six_walkers_in_frame_300(frame300: np.ndarray, model: Path) -> None:
    det = vasdk.Detector(model, threads=2, classes=["person", "car", "truck"])
    dets = det(frame300)
    people = [s for s, n in zip(dets.scores, dets.names) if n == "person" and s >= 0.5]
    assert len(people) == 6, list(zip(dets.names, dets.scores))
    assert set(dets.names) <= {"person", "car", "truck"}
    assert det.input_size == (768, 576)


def test_matches_onnxruntime_python_reference(detector: vasdk.Detector, model: Path,
                                              frame300: np.ndarray) -> None:
    ref_boxes, ref_scores, ref_classes = reference_detect(model, frame300)
    dets = detector(frame300)
    assert len(dets) == len(ref_scores) > 6
    np.testing.assert_array_equal(dets.class_ids, ref_classes)
    np.testing.assert_allclose(dets.scores, ref_scores, rtol=1e-3)
    np.testing.assert_allclose(dets.boxes, ref_boxes, rtol=1e-3, atol=1e-2)


def _bgr_to_nv12(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    u = i420[h:h + h // 4].reshape(-1)
    v = i420[h + h // 4:].reshape(-1)
    uv = np.stack([u, v], axis=1).reshape(h // 2, w)
    return np.vstack([i420[:h], uv])


def test_nv12_and_rgb_inputs_agree_with_bgr(detector: vasdk.Detector, frame300: np.ndarray) -> None:
    bgr = detector(frame300)
    rgb = detector(np.ascontiguousarray(frame300[:, :, ::-1]), format="RGB")
    np.testing.assert_allclose(rgb.boxes, bgr.boxes, rtol=1e-5, atol=1e-3)
    nv12 = detector(_bgr_to_nv12(frame300), format="NV12")
    people = [s for s, n in zip(nv12.scores, nv12.names) if n == "person" and s >= 0.5]
    assert len(people) == 6


def test_strided_rows_are_accepted(detector: vasdk.Detector, frame300: np.ndarray) -> None:
    padded = np.zeros((576, 800, 3), np.uint8)
    padded[:, :768] = frame300
    view = padded[:, :768]  # row stride 2400 bytes > 768 * 3
    np.testing.assert_allclose(detector(view).boxes, detector(frame300).boxes, atol=1e-4)


def test_bad_images_raise_clear_errors(detector: vasdk.Detector, frame300: np.ndarray) -> None:
    with pytest.raises(vasdk.InvalidArgumentError, match="uint8"):
        detector(frame300.astype(np.float32))
    with pytest.raises(vasdk.InvalidArgumentError, match=r"\(H, W, 3\)"):
        detector(frame300[:, :, :2])
    with pytest.raises(vasdk.InvalidArgumentError, match="positive"):
        detector(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(vasdk.InvalidArgumentError, match="pixel format"):
        detector(frame300, format="YUYV")
    with pytest.raises(vasdk.InvalidArgumentError, match="contiguous"):
        detector(frame300[:, ::2])
    with pytest.raises(vasdk.InvalidArgumentError, match="even"):
        detector(np.zeros((9, 7), np.uint8), format="NV12")
    assert len(detector(frame300)) > 0  # still usable


def test_missing_and_corrupt_models(tmp_path: Path, model: Path) -> None:
    with pytest.raises(vasdk.NotFoundError, match="nope.onnx"):
        vasdk.Detector(tmp_path / "nope.onnx")
    card = model.with_suffix(".json").read_text()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(model.read_bytes()[:100_000])
    (tmp_path / "truncated.json").write_text(card)
    with pytest.raises(vasdk.InvalidModelError, match="truncated.onnx"):
        vasdk.Detector(truncated)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp_path / "garbage.json").write_text(card)
    with pytest.raises(vasdk.InvalidModelError):
        vasdk.Detector(garbage)
    no_card = tmp_path / "no_card.onnx"
    no_card.write_bytes(model.read_bytes())
    with pytest.raises(vasdk.NotFoundError, match="model card"):
        vasdk.Detector(no_card)
    bad_card = tmp_path / "bad_card.onnx"
    bad_card.write_bytes(model.read_bytes())
    (tmp_path / "bad_card.json").write_text(card.replace('"nms_iou"', '"nms_ioo"'))
    with pytest.raises(vasdk.InvalidConfigError, match="nms_ioo"):
        vasdk.Detector(bad_card)


def test_invalid_options(model: Path) -> None:
    with pytest.raises(vasdk.InvalidConfigError, match="treads"):
        vasdk.Detector(model, treads=2)
    with pytest.raises(vasdk.InvalidConfigError, match="threads"):
        vasdk.Detector(model, threads="two")
    with pytest.raises(vasdk.InvalidConfigError, match="unicorn"):
        vasdk.Detector(model, classes=["unicorn"])
    from vasdk import _core

    with pytest.raises(vasdk.InvalidConfigError, match="not valid JSON"):
        _core.Detector(str(model), "{threads: 2")


def test_missing_onnxruntime_library(model: Path, tmp_path: Path) -> None:
    with pytest.raises(vasdk.BackendUnavailableError, match="does not exist"):
        vasdk.Detector(model, ort_library=str(tmp_path / "libonnxruntime.so.1"))
    not_ort = tmp_path / "libnot_ort.so"
    not_ort.write_bytes(b"\x7fELF garbage")
    with pytest.raises(vasdk.BackendUnavailableError, match="cannot load"):
        vasdk.Detector(model, ort_library=str(not_ort))
    # The environment variable is honoured and a bad value is reported, not ignored.
    code = (f"import vasdk\ntry:\n    vasdk.Detector({str(model)!r})\n"
            "except vasdk.BackendUnavailableError as e:\n    print(e)\n")
    env = dict(os.environ, VASDK_ORT_LIBRARY="/nonexistent/libonnxruntime.so")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "VASDK_ORT_LIBRARY" in out.stdout


def test_face_model_returns_landmarks(assets: Path) -> None:
    face = vasdk.Detector(assets / "centerface.onnx", threads=2)
    img = cv2.imread(str(assets / "messi5.jpg"))
    dets = face(img)
    assert len(dets) >= 1 and dets.names[0] == "face"
    x1, y1, x2, y2 = dets.boxes[0]
    lm = dets.landmarks[0]
    assert np.all((lm[:, 0] > x1 - 5) & (lm[:, 0] < x2 + 5) & (lm[:, 1] > y1 - 5) & (lm[:, 1] < y2 + 5))
    assert "landmarks" in next(dets.records())


def test_unreadable_videos(tmp_path: Path) -> None:
    with pytest.raises(vasdk.NotFoundError, match="missing.avi"):
        vasdk.VideoReader(tmp_path / "missing.avi")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(vasdk.VasError, match="notes.mp4"):
        vasdk.VideoReader(text)
