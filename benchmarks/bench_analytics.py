"""Analytics throughput: business rules and best-shot selection on synthetic tracks.

50 objects per frame over 2000 frames (seeded random walks in a 1280x720 scene) through
vasdk.Rules (4 rules: line, intrusion, loitering, crowding) and, side by side, the pure-Python
reference of tests/python/test_rules.py on the same tracks; then vasdk.BestShotSelector
(top_k 3) on 1280x720 BGR frames.

The peer users pick: supervision's LineZone and PolygonZone on the same tracks, against vasdk's
line_crossing and intrusion rules on the same line and polygon. Counts:

- line crossings with matched settings (vasdk anchor bottom-centre, hysteresis 0; LineZone
  anchored at the bottom centre, minimum_crossing_threshold 1) must be equal, per track and
  direction;
- with each side's defaults (vasdk: 5 px hysteresis; LineZone: all four box corners must have
  crossed) the counts differ, and every track whose count differs must be explained by one of
  the two knobs (its count changes with vasdk's hysteresis, or with LineZone's anchors);
- zone entries: vasdk's ``enter`` events against the outside -> inside transitions of
  PolygonZone's per-frame mask (both at the bottom centre). PolygonZone rounds the anchor to
  whole pixels and tests it against a filled raster of the polygon, so the two may disagree
  on a frame where the anchor lies within 1.5 px of an edge; every frame where they disagree
  must be such a frame.

Speed: vasdk.Rules with those two rules against LineZone.trigger + PolygonZone.trigger per
frame, on sv.Detections built before the timing (a supervision user has them from the
tracker). Prints a table and writes benchmarks/results/analytics.json.

Scoreboard (benchmarks/run_all.py): that speed (target: vasdk at least 10x the supervision
zones: a compiled rule engine ought to be an order of magnitude faster than per-frame Python),
and the matched line and zone counts (target: equal, ratio 1). --quick runs 500 frames, once.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_analytics.py [--reps 5] [--frames 2000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

import vasdk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))
from _env import environment, results_path, score_row, write_results, write_scoreboard  # noqa: E402
from test_rules import ReferenceRules  # noqa: E402

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--reps", "1", "--frames", "500"],
              "out": ["--out", "{dir}/analytics.json"]}
# Scoreboard target: vasdk's line + zone rules at least this many times supervision's zones.
MIN_SPEEDUP_VS_SUPERVISION = 10.0
# A PolygonZone verdict may differ from the exact polygon this close to an edge (its anchor
# is rounded to whole pixels, and the raster's edge pixels count as inside).
RASTER_EDGE_PX = 1.5

W, H, N, FRAMES = 1280, 720, 50, 2000
LINE = [[640, 0], [640, 720]]
ZONE = [[100, 100], [600, 120], [500, 600], [80, 500]]
CONFIG = {
    "channel": "bench",
    "rules": [
        {"id": "line", "type": "line_crossing", "line": LINE, "hysteresis": 5},
        {"id": "zone", "type": "intrusion", "polygon": ZONE},
        {"id": "dwell", "type": "loitering", "dwell_s": 2,
         "polygon": [[700, 300], [1200, 300], [1200, 700], [700, 700]]},
        {"id": "crowd", "type": "crowding", "max_count": 10, "duration_s": 1,
         "polygon": [[0, 0], [1280, 0], [1280, 720], [0, 720]]},
    ],
}  # fmt: skip
Tracks = list[dict[str, np.ndarray]]


def tracks(frames: int = FRAMES) -> Tracks:
    rng = np.random.default_rng(0)
    pos = rng.uniform([50, 100], [W - 50, H - 10], (N, 2))
    vel = rng.normal(0, 3, (N, 2))
    ids = np.arange(1, N + 1, dtype=np.int64)
    out = []
    for _ in range(frames):
        vel += rng.normal(0, 0.3, (N, 2))
        pos = np.clip(pos + vel, [30, 90], [W - 30, H - 1])
        boxes = np.stack([pos[:, 0] - 20, pos[:, 1] - 80, pos[:, 0] + 20, pos[:, 1]], 1).astype(np.float32)
        out.append({"ids": ids, "boxes": boxes, "class_ids": np.zeros(N, np.int32)})
    return out


def time_it(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# ---- vasdk's rules against supervision's zones ----------------------------------------------


def zone_rules(hysteresis: float) -> dict[str, Any]:
    return {"channel": "bench", "rules": [
        {"id": "line", "type": "line_crossing", "line": LINE, "hysteresis": hysteresis},
        {"id": "zone", "type": "intrusion", "polygon": ZONE},
    ]}  # fmt: skip


def vasdk_counts(data: Tracks, hysteresis: float) -> tuple[Counter, Counter, set[tuple[int, int]]]:
    """(crossings per (track, kind), entries per track, (frame, track) pairs inside the zone)."""
    r = vasdk.Rules(zone_rules(hysteresis))
    cross: Counter = Counter()
    enters: Counter = Counter()
    inside: set[int] = set()
    in_zone: set[tuple[int, int]] = set()
    for f, t in enumerate(data):
        for e in r.update(t, f * 40_000):
            if e.rule_id == "line":
                cross[(e.track_id, e.kind)] += 1
            elif e.kind == "enter":
                enters[e.track_id] += 1
                inside.add(e.track_id)
            elif e.kind == "exit":
                inside.discard(e.track_id)
        in_zone |= {(f, tid) for tid in inside}
    return cross, enters, in_zone


def sv_detections(data: Tracks) -> list[Any]:
    import supervision as sv

    return [sv.Detections(xyxy=t["boxes"].astype(np.float64), class_id=t["class_ids"].astype(int),
                          tracker_id=t["ids"].astype(int)) for t in data]


def sv_counts(dets: list[Any], anchors: str) -> tuple[Counter, Counter, set[tuple[int, int]]]:
    """LineZone crossings per (track, direction), PolygonZone entries per track and the
    (frame, track) pairs its mask puts inside. `anchors`: "corners" (LineZone's default) or
    "bottom_center"."""
    import supervision as sv

    pos = sv.Position
    trig = ([pos.TOP_LEFT, pos.TOP_RIGHT, pos.BOTTOM_LEFT, pos.BOTTOM_RIGHT] if anchors == "corners"
            else [pos.BOTTOM_CENTER])
    line = sv.LineZone(start=sv.Point(*LINE[0]), end=sv.Point(*LINE[1]), triggering_anchors=trig)
    zone = sv.PolygonZone(np.asarray(ZONE))
    cross: Counter = Counter()
    enters: Counter = Counter()
    was: set[int] = set()
    in_zone: set[tuple[int, int]] = set()
    for f, d in enumerate(dets):
        cin, cout = line.trigger(d)
        for tid in d.tracker_id[cin].tolist():
            cross[(tid, "in")] += 1
        for tid in d.tracker_id[cout].tolist():
            cross[(tid, "out")] += 1
        now = set(d.tracker_id[zone.trigger(d)].tolist())
        for tid in now - was:
            enters[tid] += 1
        was = now
        in_zone |= {(f, tid) for tid in now}
    return cross, enters, in_zone


def per_track(c: Counter) -> Counter:
    out: Counter = Counter()
    for key, n in c.items():
        out[key[0] if isinstance(key, tuple) else key] += n
    return out


def edge_distance(p: np.ndarray, poly: list[list[int]]) -> float:
    """Distance from point p to the polygon's boundary."""
    best = float("inf")
    for a, b in zip(poly, poly[1:] + poly[:1]):
        a_, b_ = np.asarray(a, float), np.asarray(b, float)
        t = np.clip(np.dot(p - a_, b_ - a_) / np.dot(b_ - a_, b_ - a_), 0, 1)
        best = min(best, float(np.linalg.norm(p - (a_ + t * (b_ - a_)))))
    return best


def compare_with_supervision(data: Tracks) -> dict[str, Any]:
    dets = sv_detections(data)
    v5 = vasdk_counts(data, 5.0)
    v0 = vasdk_counts(data, 0.0)
    s_corners = sv_counts(dets, "corners")
    s_bc = sv_counts(dets, "bottom_center")

    # Direction: vasdk's cross_in is -side -> +side; find the LineZone direction it maps to.
    kinds = {"cross_in": "in", "cross_out": "out"}
    straight = {(t, kinds[k]): n for (t, k), n in v0[0].items()}
    swapped = {(t, "out" if kinds[k] == "in" else "in"): n for (t, k), n in v0[0].items()}
    matched = dict(s_bc[0])
    direction = ("cross_in = LineZone in" if straight == matched else
                 "cross_in = LineZone out" if swapped == matched else "no mapping: counts differ")

    # Defaults: every track whose count differs is explained by one knob or the other.
    d5, dc = per_track(v5[0]), per_track(s_corners[0])
    d0, db = per_track(v0[0]), per_track(s_bc[0])
    differing = sorted(t for t in set(d5) | set(dc) if d5[t] != dc[t])
    by_hyst = [t for t in differing if d5[t] != d0[t]]
    by_anchor = [t for t in differing if dc[t] != db[t]]
    unexplained = [t for t in differing if t not in by_hyst and t not in by_anchor]

    # Zone: frames where PolygonZone's mask and vasdk's state disagree, and whether each one
    # is within RASTER_EDGE_PX of an edge.
    boxes = {(f, int(tid)): b for f, t in enumerate(data) for tid, b in zip(t["ids"], t["boxes"])}
    disagree = sorted(v0[2] ^ s_bc[2])
    anchor = {k: np.array([(boxes[k][0] + boxes[k][2]) / 2, boxes[k][3]]) for k in disagree}
    near = [k for k in disagree if edge_distance(anchor[k], ZONE) <= RASTER_EDGE_PX]
    return {
        "line_matched": {"vasdk_hysteresis_0": sum(v0[0].values()),
                         "linezone_bottom_center": sum(s_bc[0].values()), "direction": direction,
                         "equal_per_track_and_direction": direction.startswith("cross_in =")},
        "line_defaults": {"vasdk_hysteresis_5": sum(v5[0].values()),
                          "linezone_four_corners": sum(s_corners[0].values()),
                          "tracks_differing": len(differing),
                          "explained_by_vasdk_hysteresis": len(by_hyst),
                          "explained_by_linezone_anchors": len(by_anchor),
                          "unexplained_tracks": unexplained},
        "zone": {"vasdk_enters": sum(v0[1].values()), "polygonzone_enters": sum(s_bc[1].values()),
                 "tracks_with_different_entries": sorted(t for t in set(v0[1]) | set(s_bc[1])
                                                         if v0[1][t] != s_bc[1][t]),
                 "frames_disagreeing": len(disagree), "of_which_within_edge_px": len(near),
                 "edge_px": RASTER_EDGE_PX,
                 "unexplained_frames": [list(k) for k in disagree if k not in set(near)][:20]},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--frames", type=int, default=FRAMES)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "analytics.json")
    ap.add_argument("--shots-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.reps < 1 or args.frames < 1:
        ap.error("--reps and --frames must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    frames = args.frames
    data = tracks(frames)
    dets = sv_detections(data)

    def run_vasdk() -> None:
        r = vasdk.Rules(CONFIG)
        for f, t in enumerate(data):
            r.update(t, f * 40_000)

    def run_reference() -> None:
        r = ReferenceRules(CONFIG)
        for f, t in enumerate(data):
            r.update(t["ids"], t["boxes"], t["class_ids"], f * 40_000)

    def run_vasdk_zones() -> None:
        r = vasdk.Rules(zone_rules(5.0))
        for f, t in enumerate(data):
            r.update(t, f * 40_000)

    def run_sv_zones() -> None:
        import supervision as sv

        line = sv.LineZone(start=sv.Point(*LINE[0]), end=sv.Point(*LINE[1]))
        zone = sv.PolygonZone(np.asarray(ZONE))
        for d in dets:
            line.trigger(d)
            zone.trigger(d)

    frame = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    shot_frames = min(200, frames)

    def run_shots() -> None:
        s = vasdk.BestShotSelector(top_k=3)
        for f, t in enumerate(data[:shot_frames]):
            s.update(frame, t, f * 40_000)
        s.flush(shot_frames * 40_000)

    if args.shots_only:
        print(f"SHOTS {shot_frames / time_it(run_shots, args.reps)}")
        return 0
    compare = compare_with_supervision(data)
    env = environment(kernels="vasdk C++ rules")
    fps = {
        "vasdk Rules (4 rules)": frames / time_it(run_vasdk, args.reps),
        "Python reference rules": frames / time_it(run_reference, max(1, args.reps // 2)),
        "vasdk Rules (line + intrusion)": frames / time_it(run_vasdk_zones, args.reps),
        "supervision LineZone + PolygonZone": frames / time_it(run_sv_zones, args.reps),
    }
    # Best shots are not on the scoreboard: they run in a child process, so that a failure there
    # (even a crash) is recorded and the rows above still count.
    shot_error = None
    p = subprocess.run([sys.executable, __file__, "--shots-only", "--reps", str(args.reps),
                        "--frames", str(frames)], capture_output=True, text=True)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("SHOTS ")), None)
    if p.returncode == 0 and line:
        fps["vasdk BestShotSelector top_k=3"] = float(line.split()[1])
    else:
        shot_error = f"exit {p.returncode}: {p.stderr.strip()[-300:]}"
        print(f"BestShotSelector timing failed: {shot_error}", file=sys.stderr)
    ratio = fps["vasdk Rules (4 rules)"] / fps["Python reference rules"]
    sv_ratio = fps["vasdk Rules (line + intrusion)"] / fps["supervision LineZone + PolygonZone"]
    print(f"{N} objects/frame, {frames} frames, {W}x{H}, median of {args.reps} runs "
          "(fps = frames per second, incl. Python glue)")
    print(f"{'module':36s} {'fps':>10s}")
    for name, v in fps.items():
        print(f"{name:36s} {v:10.0f}")
    print(f"vasdk rules / Python reference: {ratio:.1f}x; vasdk line + zone / supervision: {sv_ratio:.1f}x")
    lm, ld, z = compare["line_matched"], compare["line_defaults"], compare["zone"]
    print(f"line, matched settings: vasdk {lm['vasdk_hysteresis_0']}, "
          f"LineZone {lm['linezone_bottom_center']} ({lm['direction']})")
    print(f"line, defaults: vasdk (5 px hysteresis) {ld['vasdk_hysteresis_5']}, LineZone (4 corners) "
          f"{ld['linezone_four_corners']}; {ld['tracks_differing']} tracks differ, "
          f"{ld['explained_by_vasdk_hysteresis']} by hysteresis, {ld['explained_by_linezone_anchors']} by "
          f"anchors, unexplained {ld['unexplained_tracks']}")
    print(f"zone entries: vasdk {z['vasdk_enters']}, PolygonZone {z['polygonzone_enters']}; frames "
          f"disagreeing {z['frames_disagreeing']}, within {RASTER_EDGE_PX} px of an edge "
          f"{z['of_which_within_edge_px']}")
    sv_name = "supervision LineZone + PolygonZone"
    zone_note = (f"{z['frames_disagreeing']} object-frames disagree, {z['of_which_within_edge_px']} within "
                 f"{RASTER_EDGE_PX} px of an edge (PolygonZone's pixel raster)")
    score = write_scoreboard([
        score_row(f"analytics line + zone rules, {N} objects/frame", "fps",
                  fps["vasdk Rules (line + intrusion)"], fps["supervision LineZone + PolygonZone"], sv_name,
                  better="higher",
                  target=("ratio", ">=", MIN_SPEEDUP_VS_SUPERVISION)),
        score_row("analytics line crossings (bottom-centre anchor, no hysteresis)", "crossings",
                  lm["vasdk_hysteresis_0"], lm["linezone_bottom_center"], "supervision LineZone",
                  better="higher", target=("ratio", "==", 1), note=lm["direction"]),
        score_row("analytics zone entries (bottom-centre anchor)", "entries", z["vasdk_enters"],
                  z["polygonzone_enters"], "supervision PolygonZone", better="higher",
                  target=("ratio", "==", 1), note=zone_note),
    ])
    settings = {"reps": args.reps, "frames": frames}
    out = results_path(args.out, settings, {"reps": 5, "frames": FRAMES})
    result = {
        "benchmark": "analytics",
        "settings": settings,
        "environment": env,
        "objects_per_frame": N,
        "frames": frames,
        "reps": args.reps,
        "fps": {name: round(v, 1) for name, v in fps.items()},
        "rules_speedup_vs_python_reference": round(ratio, 2),
        "line_zone_speedup_vs_supervision": round(sv_ratio, 2),
        "supervision_comparison": compare,
        "best_shot_error": shot_error,
        "scoreboard": score,
    }
    print(f"wrote {write_results(out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
