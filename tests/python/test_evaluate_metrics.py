"""VOC-style mAP of vasdk.tools.metrics against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from vasdk.tools.metrics import FrameDetections, average_precision, iou_matrix, mean_average_precision


def _fd(boxes: list[list[float]], scores: list[float] | None = None,
        classes: list[int] | None = None) -> FrameDetections:
    n = len(boxes)
    return FrameDetections(np.asarray(boxes, np.float32).reshape(-1, 4),
                           np.asarray(scores if scores is not None else [1.0] * n, np.float32),
                           np.asarray(classes if classes is not None else [0] * n, np.int32))


def test_iou_hand_cases() -> None:
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[0, 0, 2, 2], [1, 0, 3, 2], [5, 5, 6, 6], [0, 0, 1, 1]], np.float32)
    # identical 1; half-shifted: 2 / (4 + 4 - 2); disjoint 0; contained: 1 / 4
    np.testing.assert_allclose(iou_matrix(a, b)[0], [1.0, 1 / 3, 0.0, 0.25])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (1, 0)
    # Degenerate (zero-area) boxes give 0, never NaN.
    assert iou_matrix([[1, 1, 1, 1]], [[1, 1, 1, 1]])[0, 0] == 0.0


def test_average_precision_all_point_interpolation() -> None:
    # TP, FP, TP with 2 GT: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    # Envelope: 1 up to recall 1/2, then 2/3: AP = 0.5 * 1 + 0.5 * 2/3.
    assert average_precision([True, False, True], 2) == pytest.approx(0.5 + 1 / 3)
    assert average_precision([True], 2) == pytest.approx(0.5)  # one GT never found
    assert average_precision([False, True], 1) == pytest.approx(0.5)
    assert average_precision([True, True], 2) == pytest.approx(1.0)
    assert average_precision([], 3) == 0.0
    # The envelope lifts a precision dip: FP then TP after recall 1/3 -> area uses max to the right.
    # tp: T F T T, n_gt 3: p = 1, .5, .667, .75; r = 1/3, 1/3, 2/3, 1 -> 1/3*1 + 1/3*.75 + 1/3*.75
    assert average_precision([True, False, True, True], 3) == pytest.approx((1 + 0.75 + 0.75) / 3)
    with pytest.raises(ValueError, match="no ground truth"):
        average_precision([True], 0)


def test_map_identical_is_one() -> None:
    gt = [_fd([[0, 0, 10, 10], [20, 20, 30, 30]], classes=[0, 1]), _fd([[5, 5, 9, 9]], classes=[1])]
    m, per = mean_average_precision(gt, gt)
    assert m == 1.0
    assert per == {0: 1.0, 1: 1.0}


def test_map_ranks_across_frames() -> None:
    gt = [_fd([[0, 0, 10, 10]]), _fd([[50, 50, 60, 60]])]
    pred = [_fd([[0, 0, 10, 10]], [0.9]),
            _fd([[100, 100, 110, 110], [50, 50, 60, 60]], [0.8, 0.7])]
    # Ranked: TP (0.9), FP (0.8), TP (0.7) -> same as the hand case above.
    m, _ = mean_average_precision(gt, pred)
    assert m == pytest.approx(0.5 + 1 / 3)


def test_map_duplicates_wrong_class_and_iou_threshold() -> None:
    gt = [_fd([[0, 0, 10, 10]])]
    # A duplicate of a matched box is a false positive, ranked after the hit: AP stays 1.
    assert mean_average_precision(gt, [_fd([[0, 0, 10, 10]] * 2, [0.9, 0.8])])[0] == 1.0
    # Right box, wrong class: AP of class 0 is 0.
    m, per = mean_average_precision(gt, [_fd([[0, 0, 10, 10]], [0.9], [3])])
    assert m == 0.0 and per == {0: 0.0}
    # IoU 0.4 with the GT (box [0,0,10,10] vs [0,0,10,4]: 40 / 100): a miss at 0.5, a hit at 0.3.
    pred = [_fd([[0, 0, 10, 4]], [0.9])]
    assert mean_average_precision(gt, pred, 0.5)[0] == 0.0
    assert mean_average_precision(gt, pred, 0.3)[0] == 1.0
    # A low-scored false positive ranked before a hit halves the precision at full recall.
    pred = [_fd([[30, 30, 40, 40], [0, 0, 10, 10]], [0.95, 0.5])]
    assert mean_average_precision(gt, pred)[0] == pytest.approx(0.5)


def test_map_empty_cases_and_errors() -> None:
    empty = [FrameDetections.empty(), FrameDetections.empty()]
    assert mean_average_precision(empty, empty) == (1.0, {})
    assert mean_average_precision(empty, [_fd([[0, 0, 1, 1]]), FrameDetections.empty()])[0] == 0.0
    # Classes only in the predictions are not scored (VOC): class 0 is perfect, class 5 ignored.
    gt = [_fd([[0, 0, 10, 10]])]
    pred = [_fd([[0, 0, 10, 10], [40, 40, 50, 50]], [0.9, 0.99], [0, 5])]
    assert mean_average_precision(gt, pred) == (1.0, {0: 1.0})
    with pytest.raises(ValueError, match="1 ground-truth frames but 2"):
        mean_average_precision(gt, empty)
