"""Tracking from Python: Kalman filter against filterpy step by step, MOT scores on TUD-Campus
with seeded noise against a filterpy SORT reference, the Tracker API and its errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from track_reference import (
    FilterpySort,
    load_mot,
    mot_scores,
    motmetrics_file_scores,
    noisy_detections,
    run_sort_reference,
    run_vasdk,
    sort_kalman,
    sort_predict,
)

import vasdk
from vasdk import _core


def _box_sequence(seed: int, steps: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x, y, w, h = 200.0, 150.0, 50.0, 120.0
    vx, vy = rng.normal(0, 4), rng.normal(0, 2)
    boxes = []
    for _ in range(steps):
        x, y = x + vx + rng.normal(0, 2), y + vy + rng.normal(0, 2)
        w, h = max(10.0, w + rng.normal(0, 1.5)), max(20.0, h + rng.normal(0, 2.5))
        boxes.append([x, y, x + w, y + h])
    # float32 so both filters see identical measurements.
    return np.asarray(boxes, np.float32)


def _xyah(b: np.ndarray) -> np.ndarray:
    b = b.astype(np.float64)
    w, h = b[2] - b[0], b[3] - b[1]
    return np.array([b[0] + w / 2, b[1] + h / 2, w / h, h]).reshape(4, 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sort_kalman_matches_filterpy_step_by_step(seed: int) -> None:
    boxes = _box_sequence(seed, 60)
    ref = sort_kalman(boxes[0].astype(np.float64))
    ours = _core.SortKalman(boxes[0])
    np.testing.assert_allclose(ours.x, ref.x, rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours.P, ref.P, rtol=0, atol=1e-5)
    for k, b in enumerate(boxes[1:], start=1):
        sort_predict(ref)
        ours.predict()
        np.testing.assert_allclose(ours.x, ref.x, rtol=0, atol=1e-5, err_msg=f"predict {k}")
        np.testing.assert_allclose(ours.P, ref.P, rtol=0, atol=1e-5, err_msg=f"predict {k}")
        if k % 7 == 0:
            continue  # a frame without a measurement
        w, h = float(b[2]) - float(b[0]), float(b[3]) - float(b[1])
        z = np.array([float(b[0]) + w / 2, float(b[1]) + h / 2, w * h, w / h]).reshape(4, 1)
        ref.update(z)
        ours.update(b)
        np.testing.assert_allclose(ours.x, ref.x, rtol=0, atol=1e-5, err_msg=f"update {k}")
        np.testing.assert_allclose(ours.P, ref.P, rtol=0, atol=1e-5, err_msg=f"update {k}")


@pytest.mark.parametrize("seed", [3, 4])
def test_xyah_kalman_matches_filterpy_step_by_step(seed: int) -> None:
    """The ByteTrack motion model: filterpy's KalmanFilter with noise set from the height."""
    from filterpy.kalman import KalmanFilter

    sp, sv = 1.0 / 20, 1.0 / 160
    boxes = _box_sequence(seed, 60)
    kf = KalmanFilter(dim_x=8, dim_z=4)
    kf.F = np.eye(8)
    for i in range(4):
        kf.F[i, i + 4] = 1.0
    kf.H = np.eye(4, 8)
    z0 = _xyah(boxes[0])
    h0 = z0[3, 0]
    kf.x = np.vstack([z0, np.zeros((4, 1))])
    kf.P = np.diag(
        np.square(
            [2 * sp * h0, 2 * sp * h0, 1e-2, 2 * sp * h0, 10 * sv * h0, 10 * sv * h0, 1e-5, 10 * sv * h0]
        )
    )
    ours = _core.XyahKalman(boxes[0])
    np.testing.assert_allclose(ours.P, kf.P, rtol=0, atol=1e-5)
    for k, b in enumerate(boxes[1:], start=1):
        h = kf.x[3, 0]
        kf.Q = np.diag(np.square([sp * h, sp * h, 1e-2, sp * h, sv * h, sv * h, 1e-5, sv * h]))
        kf.predict()
        ours.predict()
        np.testing.assert_allclose(ours.x, kf.x, rtol=0, atol=1e-5, err_msg=f"predict {k}")
        np.testing.assert_allclose(ours.P, kf.P, rtol=0, atol=1e-5, err_msg=f"predict {k}")
        if k % 5 == 0:
            continue
        h = kf.x[3, 0]
        kf.R = np.diag(np.square([sp * h, sp * h, 1e-1, sp * h]))
        kf.update(_xyah(b))
        ours.update(b)
        np.testing.assert_allclose(ours.x, kf.x, rtol=0, atol=1e-5, err_msg=f"update {k}")
        np.testing.assert_allclose(ours.P, kf.P, rtol=0, atol=1e-5, err_msg=f"update {k}")


def test_motmetrics_oracle_on_tud_campus(assets: Path) -> None:
    """motmetrics' published TUD-Campus scores of test.txt against gt.txt."""
    s = motmetrics_file_scores(assets / "TUD-Campus" / "gt.txt", assets / "TUD-Campus" / "test.txt")
    assert s["mota"] == pytest.approx(0.526, abs=5e-4)
    assert s["idf1"] == pytest.approx(0.558, abs=5e-4)
    # The same through our own per-frame accumulation.
    gt = load_mot(assets / "TUD-Campus" / "gt.txt")
    hyp = load_mot(assets / "TUD-Campus" / "test.txt")
    ours = mot_scores(gt, hyp)
    assert ours["mota"] == pytest.approx(s["mota"], abs=1e-9)
    assert ours["idf1"] == pytest.approx(s["idf1"], abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_trackers_score_at_least_the_filterpy_sort_reference(assets: Path, seed: int) -> None:
    gt = load_mot(assets / "TUD-Campus" / "gt.txt")
    frames = sorted(gt)
    dets = noisy_detections(gt, seed=seed, jitter=0.04, miss_rate=0.1, fp_per_frame=1.0)
    ref = mot_scores(gt, run_sort_reference(FilterpySort(max_age=1, min_hits=3), dets, frames))
    ours_sort = mot_scores(gt, run_vasdk(vasdk.Tracker("sort", min_hits=3, max_age=30), dets, frames))
    ours_bt = mot_scores(gt, run_vasdk(vasdk.Tracker("bytetrack", min_hits=2, max_age=30), dets, frames))
    # The reference is a real tracker, not a strawman: it must find most people.
    assert ref["mota"] > 0.6
    for name, s in (("sort", ours_sort), ("bytetrack", ours_bt)):
        assert s["mota"] >= ref["mota"], (name, s, ref)
        assert s["idf1"] >= ref["idf1"], (name, s, ref)


def test_tracker_api_and_lifecycle() -> None:
    t = vasdk.Tracker("sort", min_hits=2, max_age=2)
    box = np.array([[100, 100, 140, 180]], np.float32)
    r = t.update(box, [0.9], [3])
    assert r.ids.tolist() == [1] and r.states.tolist() == [vasdk.TrackState.TENTATIVE]
    r = t.update(box + 2, [0.9], [3])
    assert r.states.tolist() == [vasdk.TrackState.CONFIRMED]
    assert r.class_ids.tolist() == [3] and r.hits.tolist() == [2]
    assert r.boxes.dtype == np.float32 and r.boxes.shape == (1, 4)
    assert len(r.confirmed()) == 1
    r = t.predict()  # a skipped frame: predicted, still confirmed, not matched
    assert r.states.tolist() == [vasdk.TrackState.CONFIRMED]
    assert r.time_since_update.tolist() == [1] and r.scores.tolist() == [0.0]
    assert len(r.confirmed()) == 0 and len(r.confirmed(matched_only=False)) == 1
    assert t.update().states.tolist() == [vasdk.TrackState.LOST]
    assert t.update().states.tolist() == [vasdk.TrackState.REMOVED]
    assert len(t.update()) == 0
    assert t.frame_count == 6


def test_tracker_accepts_detections_and_keeps_ids_through_skipped_frames() -> None:
    t = vasdk.Tracker("bytetrack", min_hits=1)
    ids = set()
    for f in range(60):
        boxes = np.array([[10 + 2 * f, 50, 50 + 2 * f, 130], [400 - 2 * f, 60, 440 - 2 * f, 140]], np.float32)
        if f % 4 == 0:
            d = vasdk.Detections(
                boxes=boxes,
                scores=np.array([0.9, 0.8], np.float32),
                class_ids=np.array([0, 0], np.int32),
                landmarks=np.full((2, 5, 2), np.nan, np.float32),
                class_names=["person"],
            )
            r = t.update(d, timestamp_us=f * 40_000)
        else:
            r = t.predict(timestamp_us=f * 40_000)
        assert len(r) == 2
        ids.update(r.ids.tolist())
    assert ids == {1, 2}


def test_tracker_errors_name_the_cause() -> None:
    with pytest.raises(vasdk.InvalidConfigError, match="'trak_thresh' is unknown"):
        vasdk.Tracker("bytetrack", trak_thresh=0.5)
    with pytest.raises(vasdk.InvalidConfigError, match="field 'type' is 'kcf'"):
        vasdk.Tracker("kcf")
    with pytest.raises(vasdk.InvalidConfigError, match="'iou_threshold' does not apply to type 'bytetrack'"):
        vasdk.Tracker("bytetrack", iou_threshold=0.3)
    with pytest.raises(vasdk.InvalidConfigError, match="'min_hits' is 0"):
        vasdk.Tracker("sort", min_hits=0)
    t = vasdk.Tracker()
    with pytest.raises(vasdk.InvalidArgumentError, match=r"boxes must have shape \(N, 4\)"):
        t.update(np.zeros((2, 3)), [1, 1])
    with pytest.raises(vasdk.InvalidArgumentError, match="scores must have shape"):
        t.update(np.zeros((2, 4)), [1.0])
    with pytest.raises(vasdk.InvalidArgumentError, match="class_ids must have shape"):
        t.update(np.zeros((1, 4)), [1.0], [0, 1])
    with pytest.raises(vasdk.InvalidArgumentError, match="detection 0 has a non-finite"):
        t.update([[0, 0, np.nan, 5]], [0.9])
    t.update([[0, 0, 5, 5]], [0.9], timestamp_us=100)
    with pytest.raises(vasdk.InvalidArgumentError, match="timestamp_us 50 is earlier"):
        t.predict(timestamp_us=50)
    assert t.frame_count == 1


def test_ids_are_per_tracker_instance() -> None:
    a, b = vasdk.Tracker(min_hits=1), vasdk.Tracker(min_hits=1)
    a.update([[0, 0, 10, 20]], [0.9])
    assert a.update([[0, 0, 10, 20], [300, 0, 310, 20]], [0.9, 0.9]).ids.tolist() == [1, 2]
    assert b.update([[300, 0, 310, 20]], [0.9]).ids.tolist() == [1]


def test_c_abi_tracker_through_cffi() -> None:
    """The same tracker through libvasdk's C ABI (cffi over vasdk.h)."""
    from vasdk import capi

    lib, ffi = capi.load(), capi.ffi
    cfg = ffi.new("vas_tracker_config_t*")
    lib.vas_tracker_config_init(cfg)
    cfg_json = ffi.new("char[]", b'{"type": "sort", "min_hits": 1}')
    cfg.config_json = cfg_json
    out = ffi.new("vas_tracker_t**")
    assert lib.vas_tracker_create(cfg, out) == lib.VAS_OK
    tracker = ffi.gc(out[0], lib.vas_tracker_destroy)
    dets = ffi.new("vas_detection_t[2]")
    for i, x in enumerate((10.0, 300.0)):
        dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2, dets[i].score = x, 20.0, x + 40, 100.0, 0.9
    tracks = ffi.new("vas_track_t**")
    n = ffi.new("size_t*")
    assert lib.vas_tracker_update(tracker, dets, 2, 0, tracks, n) == lib.VAS_OK
    assert n[0] == 2
    assert [tracks[0][i].track_id for i in range(2)] == [1, 2]
    assert tracks[0][1].state == lib.VAS_TRACK_CONFIRMED
    assert ffi.sizeof("vas_track_t") == 104
    assert lib.vas_tracker_predict(tracker, -1, tracks, n) == lib.VAS_ERR_INVALID_ARGUMENT
    assert b"is earlier" in ffi.string(lib.vas_last_error_message())
