"""Analytics throughput: business rules and best-shot selection on synthetic tracks.

50 objects per frame over 2000 frames (seeded random walks in a 1280x720 scene) through
vasdk.Rules (4 rules: line, intrusion, loitering, crowding) and, side by side, the pure-Python
reference of tests/python/test_rules.py on the same tracks; then vasdk.BestShotSelector
(top_k 3) on 1280x720 BGR frames. Prints a table and writes benchmarks/results/analytics.json.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_analytics.py [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import vasdk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
from test_rules import ReferenceRules  # noqa: E402

W, H, N, FRAMES = 1280, 720, 50, 2000
CONFIG = {
    "channel": "bench",
    "rules": [
        {"id": "line", "type": "line_crossing", "line": [[640, 0], [640, 720]], "hysteresis": 5},
        {"id": "zone", "type": "intrusion", "polygon": [[100, 100], [600, 120], [500, 600], [80, 500]]},
        {"id": "dwell", "type": "loitering", "dwell_s": 2,
         "polygon": [[700, 300], [1200, 300], [1200, 700], [700, 700]]},
        {"id": "crowd", "type": "crowding", "max_count": 10, "duration_s": 1,
         "polygon": [[0, 0], [1280, 0], [1280, 720], [0, 720]]},
    ],
}  # fmt: skip


def tracks() -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    pos = rng.uniform([50, 100], [W - 50, H - 10], (N, 2))
    vel = rng.normal(0, 3, (N, 2))
    ids = np.arange(1, N + 1, dtype=np.int64)
    out = []
    for _ in range(FRAMES):
        vel += rng.normal(0, 0.3, (N, 2))
        pos = np.clip(pos + vel, [30, 90], [W - 30, H - 1])
        boxes = np.stack([pos[:, 0] - 20, pos[:, 1] - 80, pos[:, 0] + 20, pos[:, 1]], 1).astype(np.float32)
        out.append({"ids": ids, "boxes": boxes, "class_ids": np.zeros(N, np.int32)})
    return out


def time_it(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    data = tracks()

    def run_vasdk() -> None:
        r = vasdk.Rules(CONFIG)
        for f, t in enumerate(data):
            r.update(t, f * 40_000)

    def run_reference() -> None:
        r = ReferenceRules(CONFIG)
        for f, t in enumerate(data):
            r.update(t["ids"], t["boxes"], t["class_ids"], f * 40_000)

    frame = np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)
    shot_frames = 200

    def run_shots() -> None:
        s = vasdk.BestShotSelector(top_k=3)
        for f, t in enumerate(data[:shot_frames]):
            s.update(frame, t, f * 40_000)
        s.flush(shot_frames * 40_000)

    rows = [
        ("vasdk Rules (4 rules)", FRAMES / time_it(run_vasdk, args.reps)),
        ("Python reference rules", FRAMES / time_it(run_reference, max(1, args.reps // 2))),
        ("vasdk BestShotSelector top_k=3", shot_frames / time_it(run_shots, args.reps)),
    ]
    ratio = rows[0][1] / rows[1][1]
    print(
        f"{N} objects/frame, {W}x{H}, median of {args.reps} runs (fps = frames per second, incl. Python glue)"
    )
    print(f"{'module':34s} {'fps':>10s}")
    for name, fps in rows:
        print(f"{name:34s} {fps:10.0f}")
    print(f"vasdk rules / Python reference: {ratio:.1f}x")
    out = ROOT / "benchmarks" / "results" / "analytics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "objects_per_frame": N,
                "frames": FRAMES,
                "reps": args.reps,
                "fps": {name: round(fps, 1) for name, fps in rows},
                "rules_speedup_vs_python_reference": round(ratio, 2),
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
