"""Detection metrics: IoU, VOC-style all-point-interpolated AP and mAP.

Matching follows PASCAL VOC (2010+): per class, predictions of all images are ranked by score;
each is a true positive when its best-overlapping ground-truth box of the same class in the
same image has IoU >= the threshold and was not matched by a higher-scored prediction;
otherwise it is a false positive. AP is the area under the precision envelope (precision made
monotonically non-increasing) over every recall point. mAP averages AP over the classes that
have ground truth; predictions of classes without ground truth are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FrameDetections", "average_precision", "iou_matrix", "mean_average_precision"]

Boxes = npt.NDArray[np.floating]


@dataclass(frozen=True)
class FrameDetections:
    """Detections of one image: boxes (N, 4) x1, y1, x2, y2; scores (N,); class ids (N,)."""

    boxes: npt.NDArray[np.floating]
    scores: npt.NDArray[np.floating]
    class_ids: npt.NDArray[np.integer]

    @staticmethod
    def empty() -> FrameDetections:
        return FrameDetections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))


def iou_matrix(a: Boxes, b: Boxes) -> npt.NDArray[np.float64]:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def average_precision(tp: Sequence[bool] | npt.NDArray[np.bool_], n_gt: int) -> float:
    """All-point-interpolated AP of predictions already sorted by descending score.

    ``tp[i]`` says whether the i-th prediction is a true positive. With no ground truth the AP
    is undefined and this raises ValueError.
    """
    if n_gt <= 0:
        raise ValueError("average_precision: no ground truth (n_gt must be positive)")
    t = np.asarray(tp, bool)
    if not t.size:
        return 0.0
    ctp = np.cumsum(t)
    cfp = np.cumsum(~t)
    recall = ctp / n_gt
    precision = ctp / (ctp + cfp)
    mrec = np.concatenate([[0.0], recall, [recall[-1]]])
    mpre = np.concatenate([[1.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.nonzero(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def mean_average_precision(ground_truth: Sequence[FrameDetections], predictions: Sequence[FrameDetections],
                           iou_threshold: float = 0.5) -> tuple[float, dict[int, float]]:
    """(mAP, {class id: AP}) of ``predictions`` against ``ground_truth``, image by image.

    Ground-truth scores are ignored. With no ground truth at all, mAP is 1.0 when there are no
    predictions either (perfect agreement on empty frames) and 0.0 otherwise.
    """
    if len(ground_truth) != len(predictions):
        raise ValueError(f"mean_average_precision: {len(ground_truth)} ground-truth frames but "
                         f"{len(predictions)} prediction frames")
    classes = sorted({int(c) for g in ground_truth for c in np.asarray(g.class_ids).tolist()})
    if not classes:
        any_pred = any(len(p.scores) for p in predictions)
        return (0.0 if any_pred else 1.0), {}
    per_class: dict[int, float] = {}
    for c in classes:
        n_gt = 0
        recs: list[tuple[float, int, int]] = []  # (score, frame, index)
        gts: list[npt.NDArray[np.float64]] = []
        preds: list[npt.NDArray[np.float64]] = []
        for f, (g, p) in enumerate(zip(ground_truth, predictions)):
            gb = np.asarray(g.boxes, np.float64).reshape(-1, 4)[np.asarray(g.class_ids) == c]
            n_gt += len(gb)
            gts.append(gb)
            sel = np.asarray(p.class_ids) == c
            pb = np.asarray(p.boxes, np.float64).reshape(-1, 4)[sel]
            ps = np.asarray(p.scores, np.float64)[sel]
            preds.append(pb)
            recs.extend((float(s), f, i) for i, s in enumerate(ps))
        # Stable sort: equal scores keep frame order, so results are deterministic.
        recs.sort(key=lambda r: -r[0])
        used = [np.zeros(len(g), bool) for g in gts]
        tp = np.zeros(len(recs), bool)
        for k, (_, f, i) in enumerate(recs):
            if not len(gts[f]):
                continue
            ious = iou_matrix(preds[f][i:i + 1], gts[f])[0]
            j = int(np.argmax(ious))
            if ious[j] >= iou_threshold and not used[f][j]:
                used[f][j] = True
                tp[k] = True
        per_class[c] = average_precision(tp, n_gt)
    return float(np.mean(list(per_class.values()))), per_class
