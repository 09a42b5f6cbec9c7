"""Tracking from Python: Kalman filter against filterpy step by step, MOT scores (MOTA, IDF1,
HOTA) on TUD-Campus with seeded noise against a filterpy SORT reference, the Tracker API,
appearance embeddings and the errors."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from track_reference import (
    FilterpySort,
    hota_scores,
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

# The Kalman bindings live in the test-only module (-DVASDK_BUILD_TEST_MODULE=ON; setup.sh's
# editable install builds it, wheels never carry it).
TESTING_MODULE = "vasdk._testing is built only with -DVASDK_BUILD_TEST_MODULE=ON (scripts/setup.sh)"


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
    _testing = pytest.importorskip("vasdk._testing", reason=TESTING_MODULE)
    ours = _testing.SortKalman(boxes[0])
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
    _testing = pytest.importorskip("vasdk._testing", reason=TESTING_MODULE)
    ours = _testing.XyahKalman(boxes[0])
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


def test_hota_plumbing_equals_trackeval_file_pipeline(assets: Path, tmp_path: Path) -> None:
    """Our in-memory HOTA input gives the same numbers as trackeval's own MOT15 loader on
    motmetrics' TUD-Campus files, and GT scored against itself is perfect."""
    from trackeval.datasets import MotChallenge2DBox
    from trackeval.metrics import HOTA

    src = assets / "TUD-Campus"
    (tmp_path / "gt" / "TUD-Campus" / "gt").mkdir(parents=True)
    shutil.copy(src / "gt.txt", tmp_path / "gt" / "TUD-Campus" / "gt" / "gt.txt")
    (tmp_path / "trk" / "test" / "data").mkdir(parents=True)
    shutil.copy(src / "test.txt", tmp_path / "trk" / "test" / "data" / "TUD-Campus.txt")
    gt = load_mot(src / "gt.txt")
    dataset = MotChallenge2DBox(
        {
            "GT_FOLDER": str(tmp_path / "gt"),
            "TRACKERS_FOLDER": str(tmp_path / "trk"),
            "TRACKERS_TO_EVAL": ["test"],
            "BENCHMARK": "MOT15",
            "SKIP_SPLIT_FOL": True,
            "SEQ_INFO": {"TUD-Campus": max(gt)},
            "PRINT_CONFIG": False,
        }
    )
    raw = dataset.get_raw_seq_data("test", "TUD-Campus")
    res = HOTA().eval_sequence(dataset.get_preprocessed_seq_data(raw, "pedestrian"))
    ours = hota_scores(gt, load_mot(src / "test.txt"))
    for key in ("HOTA", "DetA", "AssA", "LocA"):
        assert ours[key.lower()] == pytest.approx(float(np.mean(res[key])), abs=1e-12), key
    assert 0.3 < ours["hota"] < 0.5  # a weak tracker: the file motmetrics ships as an example

    perfect = hota_scores(gt, gt)
    assert perfect == pytest.approx({"hota": 1.0, "deta": 1.0, "assa": 1.0, "loca": 1.0})
    # Same boxes, ids swapped half way: detection stays perfect, association drops.
    swapped = {f: g.copy() for f, g in gt.items()}
    for f in sorted(gt)[len(gt) // 2 :]:
        swapped[f][:, 0] += 1000
    s = hota_scores(gt, swapped)
    assert s["deta"] == pytest.approx(1.0) and s["assa"] < 0.8 and s["hota"] < 0.9
    # Jittered boxes: detection and localisation drop.
    rng = np.random.default_rng(0)
    jittered = {f: g + np.c_[np.zeros(len(g)), rng.normal(0, 6, (len(g), 4))] for f, g in gt.items()}
    j = hota_scores(gt, jittered)
    assert j["deta"] < 0.9 and j["loca"] < 0.95 and j["hota"] < 1.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_trackers_score_at_least_the_filterpy_sort_reference(assets: Path, seed: int) -> None:
    gt = load_mot(assets / "TUD-Campus" / "gt.txt")
    frames = sorted(gt)
    dets = noisy_detections(gt, seed=seed, jitter=0.04, miss_rate=0.1, fp_per_frame=1.0)
    # Every tracker gets the same lifecycle and gate: kept 30 frames unmatched, reported
    # after 3 hits, matched at IoU >= 0.3 (ByteTrack's first round: 1 - IoU <= 0.7).
    common = {"max_age": 30, "min_hits": 3}
    ref_hyp = run_sort_reference(FilterpySort(**common, iou_threshold=0.3), dets, frames)
    ref = mot_scores(gt, ref_hyp) | hota_scores(gt, ref_hyp)
    ours: dict[str, dict[str, float]] = {}
    for name, tracker in (
        ("sort", vasdk.Tracker("sort", **common, iou_threshold=0.3)),
        ("bytetrack", vasdk.Tracker("bytetrack", **common, match_thresh=0.7)),
    ):
        hyp = run_vasdk(tracker, dets, frames)
        ours[name] = mot_scores(gt, hyp) | hota_scores(gt, hyp)
    # The reference is a real tracker, not a strawman: it must find most people.
    assert ref["mota"] > 0.6 and ref["hota"] > 0.5
    # SORT is the same algorithm with the same settings; it keeps a confirmed track reported
    # through a missed frame where the published code restarts its hit streak, so it must
    # score at least as well.
    s = ours["sort"]
    assert s["mota"] >= ref["mota"] and s["idf1"] >= ref["idf1"] and s["hota"] >= ref["hota"], (s, ref)
    # ByteTrack at the same settings: a miss here drops the box outright instead of lowering
    # its score, which is where ByteTrack gains; it reaches SORT's MOTA but not always its IDF1 or HOTA
    # (seed 3: IDF1 0.78 against 0.81), so those are held to within 0.05.
    b = ours["bytetrack"]
    assert b["mota"] >= ref["mota"], (b, ref)
    assert b["idf1"] >= ref["idf1"] - 0.05 and b["hota"] >= ref["hota"] - 0.05, (b, ref)


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
    with pytest.raises(vasdk.InvalidConfigError, match="tracker.trak_thresh: unknown field"):
        vasdk.Tracker("bytetrack", trak_thresh=0.5)
    with pytest.raises(
        vasdk.InvalidConfigError, match="tracker.type: expected one of 'sort', 'bytetrack', got 'kcf'"
    ):
        vasdk.Tracker("kcf")
    with pytest.raises(
        vasdk.InvalidConfigError, match="tracker.iou_threshold: does not apply to type 'bytetrack'"
    ):
        vasdk.Tracker("bytetrack", iou_threshold=0.3)
    with pytest.raises(
        vasdk.InvalidConfigError, match=r"tracker.min_hits: expected an integer in 1\.\.1000000, got 0"
    ):
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


def _bounce(tracker: vasdk.Tracker, with_embeddings: bool) -> tuple[int, int, int, int]:
    """Two people meet while hidden, turn back and reappear; returns the ids near A and B
    before and after."""
    emb = np.array([[1.0, 0.1, 0.0, 0.05], [0.1, 1.0, 0.05, 0.0]], np.float32)
    before = after = (0, 0)
    for f in range(40):
        step = 5.0 * f if f <= 16 else 5.0 * (32 - f)
        xa, xb = 100.0 + step, 260.0 - step
        visible = abs(xa - xb) >= 40.0
        boxes = np.array([[xa, 100, xa + 40, 180], [xb, 100, xb + 40, 180]], np.float32)
        if not visible:
            boxes = boxes[:0]
        e = (emb if visible else emb[:0]) if with_embeddings else None
        r = tracker.update(boxes, np.full(len(boxes), 0.9, np.float32), embeddings=e)
        if f in (10, 39):
            fresh = r.select(r.time_since_update == 0)
            centres = (fresh.boxes[:, 0] + fresh.boxes[:, 2]) / 2
            ids = tuple(int(fresh.ids[np.argmin(np.abs(centres - x - 20))]) for x in (xa, xb))
            before, after = (ids, after) if f == 10 else (before, ids)
    return before[0], before[1], after[0], after[1]


@pytest.mark.parametrize("kind", ["sort", "bytetrack"])
def test_embeddings_keep_ids_where_iou_swaps_them(kind: str) -> None:
    a0, b0, a1, b1 = _bounce(vasdk.Tracker(kind, min_hits=2), with_embeddings=False)
    assert a0 != b0 and (a1, b1) == (b0, a0), "IoU alone must swap here"
    t = vasdk.Tracker(kind, min_hits=2, appearance_weight=0.5)
    a0, b0, a1, b1 = _bounce(t, with_embeddings=True)
    assert a0 != b0 and (a1, b1) == (a0, b0)
    assert t.embedding_dim == 4


def test_embedding_and_cost_option_errors_name_the_cause() -> None:
    with pytest.raises(
        vasdk.InvalidConfigError, match=r"tracker.center_weight: expected a number in \[0, 1\], got 1.5"
    ):
        vasdk.Tracker("sort", center_weight=1.5)
    with pytest.raises(
        vasdk.InvalidConfigError, match=r"tracker.appearance_gate: expected a number in \[0, 2\], got 3"
    ):
        vasdk.Tracker(appearance_gate=3)
    with pytest.raises(vasdk.InvalidConfigError, match="tracker.embedding_dim: needs appearance_weight > 0"):
        vasdk.Tracker(embedding_dim=8)
    boxes = np.array([[0, 0, 10, 20], [50, 0, 60, 20]], np.float32)
    scores = np.array([0.9, 0.9], np.float32)
    with pytest.raises(vasdk.InvalidArgumentError, match="appearance_weight is 0"):
        vasdk.Tracker().update(boxes, scores, embeddings=np.eye(2))
    t = vasdk.Tracker(appearance_weight=0.5, embedding_dim=3)
    with pytest.raises(vasdk.InvalidArgumentError, match=r"embeddings must have shape \(2, D\)"):
        t.update(boxes, scores, embeddings=np.ones(3))
    with pytest.raises(vasdk.InvalidArgumentError, match=r"embeddings must have shape \(2, D\)"):
        t.update(boxes, scores, embeddings=np.ones((3, 3)))
    with pytest.raises(vasdk.InvalidArgumentError, match="embedding dim 4 does not match the tracker's 3"):
        t.update(boxes, scores, embeddings=np.ones((2, 4)))
    with pytest.raises(vasdk.InvalidArgumentError, match="embedding 1 has a non-finite value at 2"):
        t.update(boxes, scores, embeddings=[[1, 0, 0], [0, 1, np.inf]])
    with pytest.raises(vasdk.InvalidArgumentError, match="embedding 0 has no direction"):
        t.update(boxes, scores, embeddings=np.zeros((2, 3)))
    assert t.frame_count == 0
    r = t.update(boxes, scores, embeddings=[[1, 0, 0], [0, 1, 0]])
    assert r.ids.tolist() == [1, 2]
    # A different-looking object in the same place is refused by the appearance gate.
    r = t.update(boxes, scores, embeddings=[[0, 0, 1], [0, 1, 0]])
    assert r.ids.tolist() == [1, 2, 3] and r.time_since_update.tolist() == [1, 0, 0]


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


def test_tracks_carry_landmarks_to_the_best_shot_selector() -> None:
    # The README flow: shots.update(frame, tracker.update(dets), ts). A frontal face's landmarks
    # must reach the selector, or every face scores as non-frontal.
    frontal = np.array([[28, 30], [44, 30], [36, 38], [30, 46], [42, 46]], np.float32)
    tracker = vasdk.Tracker(min_hits=1)
    shots = vasdk.BestShotSelector(classes=[0])
    frame = np.random.default_rng(6).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    tracks = None
    for t in range(4):
        lm = (frontal + np.float32([t, 0]))[None]
        dets = vasdk.Detections(np.array([[20 + t, 20, 52 + t, 60]], np.float32), np.array([0.9], np.float32),
                                np.zeros(1, np.int32), lm, ["face"])
        tracks = tracker.update(dets)
        assert tracks.landmarks.shape == (len(tracks), 5, 2)
        np.testing.assert_allclose(tracks.landmarks[0], lm[0])
        shots.update(frame, tracks, t * 40_000)
    assert tracks is not None
    first = tracks.select(tracks.ids == tracks.ids[0])
    np.testing.assert_allclose(first.landmarks[0], frontal + np.float32([3, 0]))
    coast = tracker.predict()
    assert np.isnan(coast.landmarks).all()  # not matched on this frame
    out = shots.flush(200_000)
    assert out and out[0].terms["frontal"] > 0.9
    # Without landmarks (NaN rows), tracks report none.
    plain = vasdk.Tracker(min_hits=1).update(np.array([[0, 0, 10, 10]], np.float32))
    assert np.isnan(plain.landmarks).all()


def test_bytetrack_defaults_keep_up_with_supervision_on_spread_scores(assets: Path) -> None:
    # Scores spread over [0.3, 1) for true boxes (#16): the old defaults (track_thresh 0.5,
    # high_thresh 0.6) could not start tracks from true boxes scored below 0.6 (MOTA 0.82 here
    # against supervision's 0.88). benchmarks/tune_bytetrack.py measured the new ones.
    import warnings

    import supervision as sv

    gt = load_mot(assets / "TUD-Campus" / "gt.txt")
    frames = sorted(gt)
    ours, ref = np.zeros(2), np.zeros(2)
    for seed in range(3):  # one seed alone swings IDF1 by a few points
        dets = noisy_detections(gt, seed=seed, true_scores=(0.3, 1.0), false_scores=(0.1, 0.6))
        s = mot_scores(gt, run_vasdk(vasdk.Tracker("bytetrack"), dets, frames))
        ours += [s["mota"] / 3, s["idf1"] / 3]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ref_tracker = sv.ByteTrack(frame_rate=25)
        hyp = {}
        for f in frames:
            d = dets.get(f, np.zeros((0, 5)))
            out = ref_tracker.update_with_detections(
                sv.Detections(xyxy=d[:, :4], confidence=d[:, 4], class_id=np.zeros(len(d), int))
            )
            hyp[f] = np.concatenate([out.tracker_id[:, None].astype(np.float64), out.xyxy], axis=1)
        r = mot_scores(gt, hyp)
        ref += [r["mota"] / 3, r["idf1"] / 3]
    # MOTA within 0.015 of supervision's (0.870 vs 0.880 measured), IDF1 above it.
    assert ours[0] >= ref[0] - 0.015, (ours, ref)
    assert ours[1] >= ref[1], (ours, ref)
