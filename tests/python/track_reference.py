"""Reference pieces for the tracking tests and benchmarks/bench_tracker.py.

- ``FilterpySort``: SORT (Bewley et al. 2016) built on filterpy's KalmanFilter and scipy's
  Hungarian solver, the reference our trackers must match or beat.
- ``noisy_detections``: seeded detections from ground truth (jitter, misses, false positives).
- ``synthetic_scene``: seeded ground truth of objects moving across a frame.
- ``mot_scores``: MOTA / IDF1 with motmetrics (numpy 2 shim applied here, in test code only).
- ``hota_scores``: HOTA, DetA, AssA with trackeval's HOTA metric class (the MOTChallenge
  code), fed from in-memory arrays instead of its file loaders.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

# ---- SORT on filterpy ---------------------------------------------------------------------


def box_to_z(b: np.ndarray) -> np.ndarray:
    w, h = b[2] - b[0], b[3] - b[1]
    return np.array([b[0] + w / 2.0, b[1] + h / 2.0, w * h, w / h], dtype=np.float64).reshape(4, 1)


def x_to_box(x: np.ndarray) -> np.ndarray:
    s, r = max(float(x[2, 0]), 0.0), max(float(x[3, 0]), 0.0)
    w = np.sqrt(s * r)
    h = s / w if w > 0 else 0.0
    return np.array([x[0, 0] - w / 2, x[1, 0] - h / 2, x[0, 0] + w / 2, x[1, 0] + h / 2])


def sort_kalman(box: np.ndarray) -> KalmanFilter:
    """SORT's constant-velocity filter over (cx, cy, area, aspect) with its published noise."""
    kf = KalmanFilter(dim_x=7, dim_z=4)
    kf.F = np.eye(7)
    kf.F[0, 4] = kf.F[1, 5] = kf.F[2, 6] = 1.0
    kf.H = np.eye(4, 7)
    kf.R[2:, 2:] *= 10.0
    kf.P[4:, 4:] *= 1000.0
    kf.P *= 10.0
    kf.Q[-1, -1] *= 0.01
    kf.Q[4:, 4:] *= 0.01
    kf.x[:4] = box_to_z(box)
    return kf


def sort_predict(kf: KalmanFilter) -> None:
    if kf.x[6, 0] + kf.x[2, 0] <= 0:
        kf.x[6, 0] = 0.0
    kf.predict()


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in a (N, 4) with every box in b (M, 4)."""
    a = a[:, None, :]
    b = b[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


class _SortTrack:
    def __init__(self, box: np.ndarray, track_id: int) -> None:
        self.kf = sort_kalman(box)
        self.id = track_id
        self.time_since_update = 0
        self.hit_streak = 0

    def predict(self) -> np.ndarray:
        sort_predict(self.kf)
        if self.time_since_update > 0:
            self.hit_streak = 0
        self.time_since_update += 1
        return x_to_box(self.kf.x)

    def update(self, box: np.ndarray) -> None:
        self.time_since_update = 0
        self.hit_streak += 1
        self.kf.update(box_to_z(box))


class FilterpySort:
    """SORT as published: predict, Hungarian on IoU, gate, spawn, report, expire."""

    def __init__(self, max_age: int = 1, min_hits: int = 3, iou_threshold: float = 0.3) -> None:
        self.max_age, self.min_hits, self.iou_threshold = max_age, min_hits, iou_threshold
        self.tracks: list[_SortTrack] = []
        self.frame_count = 0
        self.next_id = 1

    def update(self, dets: np.ndarray) -> np.ndarray:
        """dets (N, >=4) x1 y1 x2 y2 [score]; returns (M, 5) x1 y1 x2 y2 id."""
        self.frame_count += 1
        dets = np.asarray(dets, np.float64).reshape(-1, dets.shape[1] if len(dets) else 5)
        predicted = np.array([t.predict() for t in self.tracks]).reshape(-1, 4)
        keep = np.isfinite(predicted).all(axis=1)
        self.tracks = [t for t, k in zip(self.tracks, keep) if k]
        predicted = predicted[keep]
        matched_d: set[int] = set()
        if len(self.tracks) and len(dets):
            iou = iou_matrix(dets[:, :4], predicted)
            rows, cols = linear_sum_assignment(-iou)
            for d, t in zip(rows, cols):
                if iou[d, t] >= self.iou_threshold:
                    self.tracks[t].update(dets[d, :4])
                    matched_d.add(int(d))
        for d in range(len(dets)):
            if d not in matched_d:
                self.tracks.append(_SortTrack(dets[d, :4], self.next_id))
                self.next_id += 1
        out = []
        alive = []
        for t in self.tracks:
            if t.time_since_update < 1 and (
                t.hit_streak >= self.min_hits or self.frame_count <= self.min_hits
            ):
                out.append([*x_to_box(t.kf.x), t.id])
            if t.time_since_update <= self.max_age:
                alive.append(t)
        self.tracks = alive
        return np.array(out, np.float64).reshape(-1, 5)


# ---- data -----------------------------------------------------------------------------------


def load_mot(path: str | Path) -> dict[int, np.ndarray]:
    """MOT15 text (frame, id, left, top, w, h, conf, ...) -> {frame: (N, 5) id x1 y1 x2 y2}."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    out: dict[int, np.ndarray] = {}
    for f in np.unique(rows[:, 0]).astype(int):
        r = rows[rows[:, 0] == f]
        out[int(f)] = np.stack([r[:, 1], r[:, 2], r[:, 3], r[:, 2] + r[:, 4], r[:, 3] + r[:, 5]], axis=1)
    return out


def noisy_detections(
    gt: dict[int, np.ndarray],
    *,
    seed: int,
    jitter: float = 0.04,
    miss_rate: float = 0.1,
    fp_per_frame: float = 1.0,
    frame_size: tuple[float, float] = (640.0, 480.0),
    true_scores: tuple[float, float] | np.ndarray = (0.35, 1.0),
    false_scores: tuple[float, float] | np.ndarray = (0.1, 0.6),
) -> dict[int, np.ndarray]:
    """{frame: (N, 5) x1 y1 x2 y2 score}: jittered boxes (sigma = jitter * size), misses,
    Poisson false positives. Scores are uniform over a (low, high) range, by default [0.35, 1)
    for true boxes and [0.1, 0.6) for false ones, or drawn from an array of samples (e.g. a
    detector's measured scores)."""

    def draw(spec: tuple[float, float] | np.ndarray, n: int) -> np.ndarray:
        if isinstance(spec, np.ndarray):
            return rng.choice(spec, n) if n else np.zeros(0)
        return rng.uniform(spec[0], spec[1], n)

    rng = np.random.default_rng(seed)
    out: dict[int, np.ndarray] = {}
    for f in sorted(gt):
        boxes = gt[f][:, 1:5].astype(np.float64)
        boxes = boxes[rng.random(len(boxes)) >= miss_rate]
        w = (boxes[:, 2] - boxes[:, 0])[:, None]
        h = (boxes[:, 3] - boxes[:, 1])[:, None]
        noise = rng.normal(0.0, jitter, boxes.shape) * np.concatenate([w, h, w, h], axis=1)
        boxes = boxes + noise
        scores = draw(true_scores, len(boxes))
        n_fp = rng.poisson(fp_per_frame)
        fw = rng.uniform(20, 120, n_fp)
        fh = fw * rng.uniform(1.5, 3.0, n_fp)
        fx = rng.uniform(0, frame_size[0] - fw)
        fy = rng.uniform(0, frame_size[1] - fh)
        fp = np.stack([fx, fy, fx + fw, fy + fh], axis=1)
        all_boxes = np.concatenate([boxes, fp])
        all_scores = np.concatenate([scores, draw(false_scores, n_fp)])
        # Fix x2 >= x1 after jitter on tiny boxes.
        all_boxes[:, 2] = np.maximum(all_boxes[:, 2], all_boxes[:, 0] + 1)
        all_boxes[:, 3] = np.maximum(all_boxes[:, 3], all_boxes[:, 1] + 1)
        out[f] = np.concatenate([all_boxes, all_scores[:, None]], axis=1)
    return out


def synthetic_scene(
    *, seed: int, objects: int = 50, frames: int = 2000, size: tuple[float, float] = (1920.0, 1080.0)
) -> dict[int, np.ndarray]:
    """Ground truth {frame: (N, 5) id x1 y1 x2 y2}: `objects` people-sized boxes at a time
    moving with smooth random velocities, bouncing off the frame edges. An object that has
    lived its (random) life leaves and a new id takes its place, so ids change over time."""
    rng = np.random.default_rng(seed)
    W, H = size

    def spawn() -> np.ndarray:
        w = rng.uniform(30, 90)
        h = w * rng.uniform(1.8, 2.6)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        vx, vy = rng.normal(0, 3.0), rng.normal(0, 2.0)
        life = rng.integers(150, 1200)
        return np.array([x, y, w, h, vx, vy, life], np.float64)

    state = np.stack([spawn() for _ in range(objects)])
    ids = np.arange(1, objects + 1)
    next_id = objects + 1
    out: dict[int, np.ndarray] = {}
    for f in range(1, frames + 1):
        state[:, 4] += rng.normal(0, 0.15, objects)
        state[:, 5] += rng.normal(0, 0.1, objects)
        state[:, 0] += state[:, 4]
        state[:, 1] += state[:, 5]
        for axis, limit in ((0, W), (1, H)):
            lo = state[:, axis] < 0
            hi = state[:, axis] + state[:, axis + 2] > limit
            state[lo | hi, axis + 4] *= -1
            state[:, axis] = np.clip(state[:, axis], 0, limit - state[:, axis + 2])
        state[:, 6] -= 1
        for i in np.nonzero(state[:, 6] <= 0)[0]:
            state[i] = spawn()
            ids[i] = next_id
            next_id += 1
        out[f] = np.stack(
            [ids, state[:, 0], state[:, 1], state[:, 0] + state[:, 2], state[:, 1] + state[:, 3]],
            axis=1,
        )
    return out


# ---- metrics --------------------------------------------------------------------------------


def _motmetrics():
    # motmetrics 1.4 calls np.asfarray, which numpy 2 removed; restore it for motmetrics only.
    if not hasattr(np, "asfarray"):
        np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]
    import motmetrics

    return motmetrics


def mot_scores(
    gt: dict[int, np.ndarray], hyp: dict[int, np.ndarray], frames: Iterable[int] | None = None
) -> dict[str, float]:
    """MOTA, IDF1 and counts. gt and hyp map frame -> (N, 5) id x1 y1 x2 y2; a match needs
    IoU >= 0.5 (motmetrics' MOTChallenge convention)."""
    mm = _motmetrics()
    acc = mm.MOTAccumulator(auto_id=True)
    for f in sorted(set(gt) | set(hyp)) if frames is None else frames:
        g = gt.get(f, np.zeros((0, 5)))
        h = hyp.get(f, np.zeros((0, 5)))
        to_xywh = lambda b: np.stack([b[:, 1], b[:, 2], b[:, 3] - b[:, 1], b[:, 4] - b[:, 2]], 1)  # noqa: E731
        dist = mm.distances.iou_matrix(to_xywh(g), to_xywh(h), max_iou=0.5)
        acc.update(g[:, 0].astype(int).tolist(), h[:, 0].astype(int).tolist(), dist)
    return _summarise(mm, acc)


def _summarise(mm, acc) -> dict[str, float]:
    metrics = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses"]
    with warnings.catch_warnings():
        # pandas 3 deprecations inside motmetrics' summary code; not ours to fix.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            from pandas.errors import Pandas4Warning

            warnings.simplefilter("ignore", Pandas4Warning)
        except ImportError:
            pass
        summary = mm.metrics.create().compute(acc, metrics=metrics, name="run")
    return {m: float(summary[m].iloc[0]) for m in metrics}


def motmetrics_file_scores(gt_path: Path, test_path: Path) -> dict[str, float]:
    """motmetrics' own loader and comparison of two MOT15 files (its published example)."""
    mm = _motmetrics()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        gt = mm.io.loadtxt(str(gt_path), fmt="mot15-2D", min_confidence=1)
        ts = mm.io.loadtxt(str(test_path), fmt="mot15-2D")
        acc = mm.utils.compare_to_groundtruth(gt, ts, "iou", distth=0.5)
    return _summarise(mm, acc)


def hota_scores(
    gt: dict[int, np.ndarray], hyp: dict[int, np.ndarray], frames: Iterable[int] | None = None
) -> dict[str, float]:
    """HOTA, DetA, AssA (each averaged over trackeval's 19 IoU thresholds 0.05..0.95) and
    LocA. gt and hyp map frame -> (N, 5) id x1 y1 x2 y2. Ids are renumbered 0.. in order of
    appearance and the similarity is box IoU, as trackeval's MOTChallenge loader does."""
    from trackeval.metrics import HOTA

    order = sorted(set(gt) | set(hyp)) if frames is None else list(frames)
    gt_index: dict[int, int] = {}
    hyp_index: dict[int, int] = {}
    data: dict[str, object] = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    n_gt = n_hyp = 0
    for f in order:
        g = gt.get(f, np.zeros((0, 5)))
        h = hyp.get(f, np.zeros((0, 5)))
        gi = np.array([gt_index.setdefault(int(i), len(gt_index)) for i in g[:, 0]], dtype=int)
        hi = np.array([hyp_index.setdefault(int(i), len(hyp_index)) for i in h[:, 0]], dtype=int)
        data["gt_ids"].append(gi)  # type: ignore[attr-defined]
        data["tracker_ids"].append(hi)  # type: ignore[attr-defined]
        data["similarity_scores"].append(iou_matrix(g[:, 1:5], h[:, 1:5]))  # type: ignore[attr-defined]
        n_gt += len(g)
        n_hyp += len(h)
    data.update(
        num_timesteps=len(order),
        num_gt_ids=len(gt_index),
        num_tracker_ids=len(hyp_index),
        num_gt_dets=n_gt,
        num_tracker_dets=n_hyp,
    )
    res = HOTA().eval_sequence(data)
    return {k.lower(): float(np.mean(res[k])) for k in ("HOTA", "DetA", "AssA", "LocA")}


def run_vasdk(tracker, dets: dict[int, np.ndarray], frames: Sequence[int]) -> dict[int, np.ndarray]:
    """Runs a vasdk.Tracker; reports confirmed tracks matched on each frame."""
    hyp: dict[int, np.ndarray] = {}
    for f in frames:
        d = dets.get(f, np.zeros((0, 5)))
        t = tracker.update(d[:, :4], d[:, 4]).confirmed()
        hyp[f] = np.concatenate([t.ids[:, None].astype(np.float64), t.boxes], axis=1)
    return hyp


def run_sort_reference(
    sort: FilterpySort, dets: dict[int, np.ndarray], frames: Sequence[int]
) -> dict[int, np.ndarray]:
    hyp: dict[int, np.ndarray] = {}
    for f in frames:
        out = sort.update(dets.get(f, np.zeros((0, 5))))
        hyp[f] = np.concatenate([out[:, 4:5], out[:, :4]], axis=1)
    return hyp
