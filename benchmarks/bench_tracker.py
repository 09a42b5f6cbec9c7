"""Tracker throughput and accuracy, side by side on the same detections and the same settings.

50 objects per frame over 2000 frames of seeded synthetic motion (tests/python/
track_reference.py: smooth random velocities, objects leaving and new ids arriving), turned
into detections with jitter, misses and false positives.

Every tracker runs with the same lifecycle and gate (``COMMON``): a track survives 30 frames
without a match (max_age), is reported after 3 consecutive matches (min_hits; tracks born on
the first frame are reported at once, as SORT's and ByteTrack's reference code do), and a
match needs IoU >= 0.3 (ByteTrack's first round: cost 1 - IoU <= 0.7). The ByteTracks also
share their score thresholds (0.25 high, 0.35 to start a track, 0.1 low); vasdk and
supervision keep the second-round (0.5) and unconfirmed-track (0.7) gates that ByteTrack's
paper code fixes, while ioutrack-rs exposes only the one IoU threshold.

Compared: vasdk ByteTrack and SORT (C++ through the Python API); ioutrack-rs 0.4 SORT and
ByteTrack (Rust, a compiled peer from PyPI, used when installed); SORT on filterpy (the
published algorithm, pure Python) and supervision 0.30's ByteTrack (pure Python). The speed
ratios against pure-Python peers say how much faster than Python, not than another native
library: the compiled peer is the fair speed comparison.

Reports fps (median of repetitions, with the spread), MOTA and IDF1 (motmetrics, IoU >= 0.5)
and HOTA with DetA and AssA (trackeval's HOTA class), prints a table and writes
benchmarks/results/tracker.json.

    OPENBLAS_NUM_THREADS=1 nice .venv/bin/python benchmarks/bench_tracker.py

Scoreboard (benchmarks/run_all.py): the targets below (``targets`` in the JSON) as rows: speed
against the compiled peer of the same algorithm (ioutrack-rs, at least as fast) and against
supervision's ByteTrack (at least 50x), accuracy (MOTA, IDF1, HOTA) at least supervision's.
--quick tracks 300 frames with 2 repetitions (1 for the Python peers).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _env import environment, results_path, score_row, write_results, write_scoreboard  # noqa: E402
from track_reference import (  # noqa: E402
    FilterpySort,
    hota_scores,
    mot_scores,
    noisy_detections,
    synthetic_scene,
)

import vasdk  # noqa: E402

Frames = list[tuple[np.ndarray, np.ndarray, np.ndarray]]
Hyp = dict[int, np.ndarray]

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--frames", "300", "--reps", "2", "--ref-reps", "1"],
              "out": ["--out", "{dir}/tracker.json"]}

# The settings every tracker gets (see the module docstring).
COMMON = {"max_age": 30, "min_hits": 3, "iou_threshold": 0.3}
BYTE_SCORES = {"high": 0.25, "new_track": 0.35, "low": 0.1}


def run_vasdk(kind: str, frames: Frames, **options: Any) -> Callable[[], dict[int, Any]]:
    def run() -> dict[int, Any]:
        t = vasdk.Tracker(kind, **options)
        outs = [t.update(boxes, scores, classes) for boxes, scores, classes in frames]
        # Raw Tracks; turned into MOT rows after the timing, as for the references.
        return dict(enumerate(outs, start=1))

    return run


def vasdk_hyp(raw: dict[int, Any]) -> Hyp:
    hyp: Hyp = {}
    for f, tracks in raw.items():
        r = tracks.confirmed()
        hyp[f] = np.concatenate([r.ids[:, None].astype(np.float64), r.boxes], axis=1)
    return hyp


def run_filterpy_sort(frames: Frames) -> Callable[[], Hyp]:
    dets = [np.concatenate([b, s[:, None]], axis=1).astype(np.float64) for b, s, _ in frames]

    def run() -> Hyp:
        t = FilterpySort(**COMMON)
        hyp: Hyp = {}
        outs = [t.update(d) for d in dets]
        for f, out in enumerate(outs, start=1):
            hyp[f] = np.concatenate([out[:, 4:5], out[:, :4]], axis=1)
        return hyp

    return run


def run_supervision(frames: Frames) -> Callable[[], Hyp]:
    import supervision as sv

    dets = [
        sv.Detections(xyxy=b.astype(np.float64), confidence=s.astype(np.float64), class_id=c.astype(int))
        for b, s, c in frames
    ]

    def run() -> Hyp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # ByteTrack moves out in 0.31
            # lost_track_buffer counts frames at frame_rate 30; matching is on 1 - IoU.
            t = sv.ByteTrack(
                track_activation_threshold=BYTE_SCORES["high"],
                lost_track_buffer=COMMON["max_age"],
                minimum_matching_threshold=1 - COMMON["iou_threshold"],
                frame_rate=30,
                minimum_consecutive_frames=COMMON["min_hits"],
            )
        hyp: Hyp = {}
        outs = [t.update_with_detections(d) for d in dets]
        for f, out in enumerate(outs, start=1):
            hyp[f] = np.concatenate([out.tracker_id[:, None].astype(np.float64), out.xyxy], axis=1)
        return hyp

    return run


def run_ioutrack(kind: str, frames: Frames) -> Callable[[], Hyp]:
    import ioutrack

    dets = [np.concatenate([b, s[:, None]], axis=1).astype(np.float32) for b, s, _ in frames]

    def run() -> Hyp:
        if kind == "sort":
            t: Any = ioutrack.Sort(**COMMON, init_tracker_min_score=0.0)
        else:
            t = ioutrack.ByteTrack(
                **COMMON,
                init_tracker_min_score=BYTE_SCORES["new_track"],
                high_score_threshold=BYTE_SCORES["high"],
                low_score_threshold=BYTE_SCORES["low"],
            )
        outs = [t.update(d) for d in dets]
        return {f: np.concatenate([o[:, 4:5], o[:, :4]], axis=1).astype(np.float64)
                for f, o in enumerate(outs, start=1)}

    return run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=50)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--reps", type=int, default=5, help="repetitions for vasdk")
    ap.add_argument("--ref-reps", type=int, default=3, help="repetitions for the Python references")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tracker.json")
    args = ap.parse_args(argv)
    if min(args.objects, args.frames, args.reps, args.ref_reps) < 1:
        ap.error("--objects, --frames, --reps and --ref-reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)

    size = (1920.0, 1080.0)
    gt = synthetic_scene(seed=args.seed, objects=args.objects, frames=args.frames, size=size)
    noisy = noisy_detections(
        gt, seed=args.seed + 1, jitter=0.03, miss_rate=0.05, fp_per_frame=2.0, frame_size=size
    )
    frames: Frames = []
    for f in range(1, args.frames + 1):
        d = noisy[f]
        frames.append(
            (
                np.ascontiguousarray(d[:, :4], np.float32),
                d[:, 4].astype(np.float32),
                np.zeros(len(d), np.int32),
            )
        )
    n_dets = sum(len(b) for b, _, _ in frames)

    # vasdk ByteTrack with supervision's defaults: activation 0.25 (new tracks from 0.35),
    # matching 0.8, 30 frames of lost buffer; confirmed on the second hit, or at once on the
    # first frame, as ByteTrack (and supervision) activates the first frame's tracks.
    bt_options = {
        "track_thresh": BYTE_SCORES["high"],
        "high_thresh": BYTE_SCORES["new_track"],
        "low_thresh": BYTE_SCORES["low"],
        "match_thresh": 1 - COMMON["iou_threshold"],
        "max_age": COMMON["max_age"],
        "min_hits": COMMON["min_hits"],
        "confirm_first_frame": True,
    }
    sort_options = {**COMMON, "confirm_first_frame": True}
    runners = [
        ("vasdk ByteTrack", run_vasdk("bytetrack", frames, **bt_options), args.reps),
        ("vasdk SORT", run_vasdk("sort", frames, **sort_options), args.reps),
    ]
    compiled_peer = importlib.util.find_spec("ioutrack") is not None
    if compiled_peer:
        runners += [
            ("ioutrack-rs SORT (Rust)", run_ioutrack("sort", frames), args.reps),
            ("ioutrack-rs ByteTrack (Rust)", run_ioutrack("bytetrack", frames), args.reps),
        ]
    else:
        print("compiled peer skipped: pip install ioutrack-rs", file=sys.stderr)
    runners += [
        ("filterpy SORT (pure Python)", run_filterpy_sort(frames), args.ref_reps),
        ("supervision 0.30 ByteTrack (pure Python)", run_supervision(frames), args.ref_reps),
    ]
    env = environment(kernels="vasdk C++ trackers")
    rows: list[dict[str, Any]] = []
    for name, run, reps in runners:
        times = []
        hyp: dict[int, Any] = {}
        for _ in range(reps):
            t0 = time.perf_counter()
            hyp = run()
            times.append(time.perf_counter() - t0)
        if name.startswith("vasdk"):
            hyp = vasdk_hyp(hyp)
        scores = mot_scores(gt, hyp) | hota_scores(gt, hyp)
        med = statistics.median(times)
        rows.append(
            {
                "tracker": name,
                "fps_median": args.frames / med,
                "fps_all": [args.frames / t for t in times],
                "fps_spread": (max(times) - min(times)) / med,
                "implementation": "pure Python" if "pure Python" in name else "compiled",
                "ms_per_frame": 1000.0 * med / args.frames,
                "mota": scores["mota"],
                "idf1": scores["idf1"],
                "hota": scores["hota"],
                "deta": scores["deta"],
                "assa": scores["assa"],
                "id_switches": int(scores["num_switches"]),
                "false_positives": int(scores["num_false_positives"]),
                "misses": int(scores["num_misses"]),
            }
        )
        print(
            f"  {name}: {args.frames / med:.0f} fps, MOTA {scores['mota']:.3f}, HOTA {scores['hota']:.3f}",
            file=sys.stderr,
        )

    by = {r["tracker"]: r for r in rows}
    ref_sort = by["filterpy SORT (pure Python)"]["fps_median"]
    ref_sv = by["supervision 0.30 ByteTrack (pure Python)"]["fps_median"]
    for r in rows:
        r["x_filterpy_sort"] = r["fps_median"] / ref_sort
        r["x_supervision_bytetrack"] = r["fps_median"] / ref_sv
        # Against the compiled peer of the same algorithm, where there is one.
        peer = ("ioutrack-rs SORT (Rust)" if "SORT" in r["tracker"] else "ioutrack-rs ByteTrack (Rust)")
        r["x_compiled_peer"] = r["fps_median"] / by[peer]["fps_median"] if peer in by else None

    print(
        f"\n{args.objects} objects/frame, {args.frames} frames, {n_dets / args.frames:.1f} detections/frame "
        f"(seed {args.seed}); fps = median of repetitions; every tracker: max_age "
        f"{COMMON['max_age']}, min_hits {COMMON['min_hits']}, IoU >= {COMMON['iou_threshold']}\n"
    )
    header = (
        f"{'tracker':<42} {'fps':>9} {'spread':>7} {'ms/frame':>9} {'x Rust':>7} {'x filterpy':>11} "
        f"{'x sv':>7} "
        f"{'MOTA':>7} {'IDF1':>7} {'HOTA':>7} {'DetA':>7} {'AssA':>7} {'IDsw':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['tracker']:<42} {r['fps_median']:>9.0f} {r['fps_spread']:>6.0%} {r['ms_per_frame']:>9.3f} "
            + (f"{r['x_compiled_peer']:>7.2f} " if r["x_compiled_peer"] else f"{'-':>7} ")
            + f"{r['x_filterpy_sort']:>11.1f} {r['x_supervision_bytetrack']:>7.1f} "
            f"{r['mota']:>7.3f} {r['idf1']:>7.3f} {r['hota']:>7.3f} {r['deta']:>7.3f} {r['assa']:>7.3f} "
            f"{r['id_switches']:>6d}"
        )
    bt = by["vasdk ByteTrack"]
    sv_row = by["supervision 0.30 ByteTrack (pure Python)"]
    targets = {
        "bytetrack_x_filterpy_sort>=20": bt["x_filterpy_sort"] >= 20,
        "bytetrack_x_supervision>=50": bt["x_supervision_bytetrack"] >= 50,
        "bytetrack_mota>=supervision": bt["mota"] >= sv_row["mota"],
        "bytetrack_idf1>=supervision": bt["idf1"] >= sv_row["idf1"],
        "bytetrack_hota>=supervision": bt["hota"] >= sv_row["hota"],
        "bytetrack_hota>=filterpy_sort": bt["hota"] >= by["filterpy SORT (pure Python)"]["hota"],
    }
    if compiled_peer:
        targets["bytetrack_x_ioutrack_bytetrack>=1"] = bt["x_compiled_peer"] >= 1
        targets["sort_x_ioutrack_sort>=1"] = by["vasdk SORT"]["x_compiled_peer"] >= 1
    print("\ntargets:", ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items()))
    sv_name = "supervision 0.30 ByteTrack (pure Python)"
    rust = {k: by.get(f"ioutrack-rs {k} (Rust)") for k in ("SORT", "ByteTrack")}
    missing = None if compiled_peer else "ioutrack-rs not installed: no compiled peer"
    score = [
        score_row(f"tracker {k}, {args.objects} objects/frame", "fps", by[f"vasdk {k}"]["fps_median"],
                  rust[k]["fps_median"] if rust[k] else None, f"ioutrack-rs {k} (Rust)", better="higher",
                  target=("ratio", ">=", 1), note=missing)
        for k in ("ByteTrack", "SORT")
    ]
    score.append(score_row(f"tracker ByteTrack against pure Python, {args.objects} objects/frame", "fps",
                           bt["fps_median"],
                           sv_row["fps_median"], sv_name, better="higher", target=("ratio", ">=", 50)))
    score += [score_row(f"tracker ByteTrack {m.upper()}", m.upper(), bt[m], sv_row[m], sv_name,
                        better="higher", target=("ratio", ">=", 1)) for m in ("mota", "idf1", "hota")]
    write_scoreboard(score)
    settings = {"objects": args.objects, "frames": args.frames, "seed": args.seed,
                "reps": args.reps, "ref_reps": args.ref_reps}
    defaults = {"objects": 50, "frames": 2000, "seed": 2024, "reps": 5, "ref_reps": 3}
    result = {
        "benchmark": "tracker",
        "settings": settings,
        "environment": env,
        "detections_per_frame": n_dets / args.frames,
        "common_tracker_settings": COMMON,
        "bytetrack_scores": BYTE_SCORES,
        "compiled_peer": ("ioutrack-rs (Rust, PyPI)" if compiled_peer
                          else "not installed (pip install ioutrack-rs)"),
        "vasdk_bytetrack_options": bt_options,
        "vasdk_sort_options": sort_options,
        "rows": rows,
        "targets": targets,
        "scoreboard": score,
    }
    print(f"wrote {write_results(results_path(args.out, settings, defaults), result)}")

if __name__ == "__main__":
    main()
