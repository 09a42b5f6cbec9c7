"""ByteTrack thresholds measured against supervision's ByteTrack on TUD-Campus.

The detections are TUD-Campus ground truth with seeded jitter, misses and false positives
(tests/python/track_reference.py), scored in three ways:

  uniform     true boxes uniform in [0.3, 1), false ones in [0.1, 0.6) (the spread of #16)
  yolov3-tiny scores of the shipped yolov3-tiny's person detections on vtest.avi
  centerface  scores of the shipped CenterFace's face detections on Megamind.avi

For a detector, true boxes draw from all its detection scores and false positives from the
lowest third of them (a detector's false positives sit in its low scores). The measured
scores are cached in benchmarks/results/detector_scores.json (--rescore refreshes them).

Each (track_thresh, high_thresh) pair runs over every scenario and seed; the table shows the
mean MOTA and IDF1 and the worst margin against supervision 0.30's ByteTrack with its own
defaults on the same detections. Writes benchmarks/results/bytetrack_tuning.json.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/tune_bytetrack.py
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

from track_reference import load_mot, mot_scores, noisy_detections  # noqa: E402

import vasdk  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def detector_scores(assets: Path, frames: int) -> dict[str, list[float]]:
    """Scores of every detection of the shipped detectors on clips they suit."""
    out: dict[str, list[float]] = {}
    for name, model, clip, keep in (
        ("yolov3-tiny", "yolov3-tiny.onnx", "vtest.avi", "person"),
        ("centerface", "centerface.onnx", "Megamind.avi", None),
    ):
        det = vasdk.Detector(assets / model, threads=2)
        scores: list[float] = []
        with vasdk.VideoReader(assets / clip) as reader:
            for i, frame in enumerate(reader):
                if i >= frames:
                    break
                if i % 3:
                    continue
                d = det(frame)
                scores += [float(s) for s, n in zip(d.scores, d.names) if keep is None or n == keep]
        out[name] = scores
    return out


def supervision_run(dets: dict[int, np.ndarray], frames: list[int]) -> dict[int, np.ndarray]:
    import supervision as sv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        t = sv.ByteTrack(frame_rate=25)
    hyp: dict[int, np.ndarray] = {}
    for f in frames:
        d = dets.get(f, np.zeros((0, 5)))
        out = t.update_with_detections(
            sv.Detections(xyxy=d[:, :4].astype(np.float64), confidence=d[:, 4].astype(np.float64),
                          class_id=np.zeros(len(d), int))
        )
        hyp[f] = np.concatenate([out.tracker_id[:, None].astype(np.float64), out.xyxy], axis=1)
    return hyp


def vasdk_run(dets: dict[int, np.ndarray], frames: list[int], **options: Any) -> dict[int, np.ndarray]:
    t = vasdk.Tracker("bytetrack", **options)
    hyp: dict[int, np.ndarray] = {}
    for f in frames:
        d = dets.get(f, np.zeros((0, 5)))
        r = t.update(d[:, :4], d[:, 4]).confirmed()
        hyp[f] = np.concatenate([r.ids[:, None].astype(np.float64), r.boxes], axis=1)
    return hyp


def scenarios(scores: dict[str, list[float]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"uniform": {"true_scores": (0.3, 1.0), "false_scores": (0.1, 0.6)}}
    for name, s in scores.items():
        a = np.sort(np.asarray(s))
        out[name] = {"true_scores": a, "false_scores": a[: max(len(a) // 3, 1)]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=300, help="clip frames to score per detector")
    ap.add_argument("--rescore", action="store_true", help="run the detectors again")
    args = ap.parse_args()
    from vasdk.asset_paths import asset_dir

    assets = asset_dir()
    cache = RESULTS / "detector_scores.json"
    if args.rescore or not cache.exists():
        cache.write_text(json.dumps(detector_scores(assets, args.frames)) + "\n")
    scores = json.loads(cache.read_text())
    gt = load_mot(assets / "TUD-Campus" / "gt.txt")
    frames = sorted(gt)
    cases = scenarios(scores)
    dets = {
        (name, seed): noisy_detections(gt, seed=seed, **spec)
        for name, spec in cases.items()
        for seed in range(args.seeds)
    }
    ref = {k: mot_scores(gt, supervision_run(d, frames)) for k, d in dets.items()}

    grid = [(t, t + dh, m) for t in (0.2, 0.25, 0.3, 0.4) for dh in (0.05, 0.1) for m in (1, 2)]
    grid.append((0.5, 0.6, 2))  # the old defaults
    rows = []
    for track, high, min_hits in grid:
        opts = {"track_thresh": round(track, 2), "high_thresh": round(high, 2), "min_hits": min_hits}
        per: dict[str, dict[str, float]] = {}
        margins = []
        for k, d in dets.items():
            s = mot_scores(gt, vasdk_run(d, frames, **opts))
            name = k[0]
            acc = per.setdefault(name, {"mota": 0.0, "idf1": 0.0, "sv_mota": 0.0, "sv_idf1": 0.0})
            acc["mota"] += s["mota"] / args.seeds
            acc["idf1"] += s["idf1"] / args.seeds
            acc["sv_mota"] += ref[k]["mota"] / args.seeds
            acc["sv_idf1"] += ref[k]["idf1"] / args.seeds
            margins += [s["mota"] - ref[k]["mota"], s["idf1"] - ref[k]["idf1"]]
        rows.append({**opts, "scenarios": per, "worst_margin": min(margins)})

    print(f"{'track':>6} {'high':>5} {'hits':>4} " + " ".join(f"{n:>24}" for n in cases) + "  worst vs sv")
    print(f"{'':>17} " + " ".join(f"{'MOTA/IDF1 (sv MOTA/IDF1)':>24}" for _ in cases))
    for r in rows:
        cells = " ".join(
            f"{p['mota']:.3f}/{p['idf1']:.3f} ({p['sv_mota']:.3f}/{p['sv_idf1']:.3f})"
            for p in r["scenarios"].values()
        )
        print(f"{r['track_thresh']:>6.2f} {r['high_thresh']:>5.2f} {r['min_hits']:>4} {cells}  "
              f"{r['worst_margin']:+.3f}")
    best = max(rows, key=lambda r: r["worst_margin"])
    print(f"\nbest worst-case margin: track_thresh {best['track_thresh']}, "
          f"high_thresh {best['high_thresh']}, min_hits {best['min_hits']}")
    (RESULTS / "bytetrack_tuning.json").write_text(json.dumps({"rows": rows, "best": best}, indent=1) + "\n")


if __name__ == "__main__":
    main()
