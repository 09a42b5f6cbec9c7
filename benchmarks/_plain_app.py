"""The plain Python app's model code for bench_pipeline.py: its inference call (onnxruntime,
or OpenVINO with throughput streams) and its numpy decoding of yolov3-tiny's two heads."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

CLASSES = ["person", "car", "truck"]
CLASS_IDS = [0, 2, 7]  # their indices in the card's 80 COCO classes
INPUT_W, INPUT_H = 768, 576
SCORE, NMS_IOU = 0.25, 0.45
HEADS = [(32, [(81, 82), (135, 169), (344, 319)]), (16, [(10, 14), (23, 27), (37, 58)])]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def peer_decode(outputs: list[np.ndarray], sx: float, sy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (x1, y1, x2, y2 in frame pixels), scores, class ids after NMS."""
    import cv2

    boxes, scores, cls = [], [], []
    for out, (stride, anchors) in zip(outputs, HEADS):
        _, _, h, w = out.shape
        p = out[0].reshape(3, 85, h, w)
        logits = p[:, [5 + c for c in CLASS_IDS]]  # (3, 3, h, w)
        best = logits.argmax(axis=1)
        score = sigmoid(p[:, 4]) * sigmoid(np.take_along_axis(logits, best[:, None], axis=1)[:, 0])
        a, y, x = np.nonzero(score >= SCORE)
        if a.size == 0:
            continue
        anc = np.asarray(anchors, np.float32)[a]
        cx = (sigmoid(p[a, 0, y, x]) + x) * stride
        cy = (sigmoid(p[a, 1, y, x]) + y) * stride
        bw = np.exp(p[a, 2, y, x]) * anc[:, 0]
        bh = np.exp(p[a, 3, y, x]) * anc[:, 1]
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1))
        scores.append(score[a, y, x])
        cls.append(np.asarray(CLASS_IDS)[best[a, y, x]])
    if not boxes:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
    b, s, c = np.concatenate(boxes), np.concatenate(scores), np.concatenate(cls)
    keep = np.asarray(
        cv2.dnn.NMSBoxesBatched(b.tolist(), s.tolist(), c.tolist(), SCORE, NMS_IOU), int
    ).reshape(-1)
    b, s, c = b[keep], s[keep], c[keep]
    xyxy = np.stack([b[:, 0] * sx, b[:, 1] * sy, (b[:, 0] + b[:, 2]) * sx, (b[:, 1] + b[:, 3]) * sy], axis=1)
    return xyxy.astype(np.float32), s.astype(np.float32), c


def peer_inference(cfg: dict[str, Any]) -> Any:
    """The plain app's inference call, thread-safe: onnxruntime, or OpenVINO (peer_ov)."""
    if cfg["engine"] == "openvino":
        import openvino as ov

        compiled = ov.Core().compile_model(
            cfg["model"], "CPU", {"PERFORMANCE_HINT": "THROUGHPUT", "INFERENCE_NUM_THREADS": cfg["threads"]}
        )
        local = threading.local()  # one infer request per channel thread

        def infer_ov(x: np.ndarray) -> list[np.ndarray]:
            if not hasattr(local, "request"):
                local.request = compiled.create_infer_request()
            res = local.request.infer({0: x})
            return [res[o] for o in compiled.outputs]

        return infer_ov
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = cfg["threads"]
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(cfg["model"], so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    return lambda x: sess.run(None, {in_name: x})
