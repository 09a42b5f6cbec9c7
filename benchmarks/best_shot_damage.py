"""How often a damaged frame still wins best shot, per kind and strength of damage.

Detection (CenterFace on Megamind.avi, yolov3-tiny persons on vtest.avi) and tracking run once
on the clean frames, so every run sees the same tracks and only the pixels differ: a damaged
frame is one the detector still found its objects on, the hardest case for the selector. Then,
for each damage kind of tests/python/damage.py and each strength, every ``--period``-th frame
is damaged (placed on the boxes the tracker reports there) and a default best-shot selector
(top_k 1) runs over the video. Per kind and strength it counts:

- ``tracks_with_damaged_candidate``: tracks with an observation on a damaged frame whose box
  the damage touched (at least ``MIN_PIXELS`` pixels changed);
- ``damaged_wins``: tracks whose best shot is such an observation (the target is 0);
- ``damaged_observations``: how many such observations there were.

A clean run gives each track's winner; the ``clean`` section reports the time per observation
of selector.update (the quality terms are most of it) and, when ``--compare`` names an
earlier results file, how many clean winners changed and the worst drop in their quality.

    VASDK_ASSETS=$PWD/.cache/assets OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/best_shot_damage.py

Writes benchmarks/results/best_shot_damage.json (other settings: a file named after them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import damage  # noqa: E402
from _env import environment, results_path, write_results  # noqa: E402

import vasdk  # noqa: E402

MIN_PIXELS = 4  # changed pixels inside a box for its observation to count as damaged
DEFAULTS: dict[str, Any] = {"period": 10, "offset": 5, "frames": 0, "seed": 1}


@dataclass
class Clip:
    name: str
    frames: list[np.ndarray]
    tracks: list[vasdk.Tracks]
    fps: float


def observed(t: vasdk.Tracks) -> vasdk.Tracks:
    """The tracks the selector crops on this frame: confirmed and matched to a detection."""
    return t.confirmed(matched_only=True)


def load_clip(assets: Path, name: str, max_frames: int) -> Clip:
    if name == "Megamind.avi":
        det = vasdk.Detector(assets / "centerface.onnx", threads=2)
    else:
        det = vasdk.Detector(assets / "yolov3-tiny.onnx", threads=2, classes=["person"])
    frames: list[np.ndarray] = []
    with vasdk.VideoReader(assets / name) as reader:
        fps = float(getattr(reader, "fps", 0) or (23.976 if name == "Megamind.avi" else 10.0))
        for frame in reader:
            frames.append(np.ascontiguousarray(frame))
            if max_frames and len(frames) >= max_frames:
                break
    tracker = vasdk.Tracker()
    tracks = [tracker.update(det(f)) for f in frames]
    return Clip(name, frames, tracks, fps)


def run_selector(clip: Clip, damaged: dict[int, np.ndarray]) -> tuple[dict[int, vasdk.BestShot], float, int]:
    """Each track's best shot, the seconds spent in update() and the observations scored."""
    sel = vasdk.BestShotSelector(top_k=1)
    best: dict[int, vasdk.BestShot] = {}
    spent, n_obs = 0.0, 0
    step = 1e6 / clip.fps
    for i, (frame, tracks) in enumerate(zip(clip.frames, clip.tracks)):
        img = damaged.get(i, frame)
        t0 = time.perf_counter()
        shots = sel.update(img, tracks, int(i * step))
        spent += time.perf_counter() - t0
        n_obs += len(observed(tracks))
        best.update({s.track_id: s for s in shots if s.rank == 0})
    best.update({s.track_id: s for s in sel.flush(int(len(clip.frames) * step)) if s.rank == 0})
    return best, spent, n_obs


def damage_run(clip: Clip, kind: str, strength: int, period: int, offset: int, seed: int) -> dict[str, Any]:
    damaged: dict[int, np.ndarray] = {}
    masks: dict[int, np.ndarray] = {}
    for i in range(offset, len(clip.frames), period):
        boxes = [tuple(b) for b in observed(clip.tracks[i]).boxes]
        if not boxes:
            continue
        rng = np.random.default_rng([seed, i, damage.KINDS.index(kind), strength])
        damaged[i], masks[i] = damage.apply(clip.frames[i], kind, strength, boxes, rng)
    hit: dict[int, int] = {}  # observations on damaged frames that the damage touched, per track
    for i, mask in masks.items():
        obs = observed(clip.tracks[i])
        for tid, box in zip(obs.ids, obs.boxes):
            if damage.box_damage(mask, tuple(box)) >= MIN_PIXELS:
                hit[int(tid)] = hit.get(int(tid), 0) + 1
    best, _, _ = run_selector(clip, damaged)
    wins = [
        {"track_id": tid, "frame_index": s.frame_index, "quality": round(s.quality, 4)}
        for tid, s in sorted(best.items())
        if s.frame_index in masks and damage.box_damage(masks[s.frame_index], s.box) >= MIN_PIXELS
    ]
    return {
        "kind": kind,
        "strength": strength,
        "damaged_frames": len(damaged),
        "tracks": len(best),
        "tracks_with_damaged_candidate": len(hit),
        "damaged_observations": sum(hit.values()),
        "damaged_wins": len(wins),
        "wins": wins,
    }


def clean_run(clip: Clip, earlier: dict[str, Any] | None) -> dict[str, Any]:
    best, spent, n_obs = run_selector(clip, {})
    runs = [run_selector(clip, {})[1] for _ in range(2)]
    spent = min([spent, *runs])
    winners = {
        str(tid): {"frame_index": s.frame_index, "quality": round(s.quality, 5)} for tid, s in best.items()
    }
    out: dict[str, Any] = {
        "tracks": len(best),
        "observations": n_obs,
        "update_us_per_observation": round(1e6 * spent / max(n_obs, 1), 2),
        "winners": winners,
    }
    if earlier is not None:
        before = earlier["videos"][clip.name]["clean"]["winners"]
        changed = [
            tid
            for tid, w in winners.items()
            if tid in before and before[tid]["frame_index"] != w["frame_index"]
        ]
        drops = [before[tid]["quality"] - w["quality"] for tid, w in winners.items() if tid in before]
        out["compared_with"] = earlier.get("label", "earlier run")
        out["winners_changed"] = len(changed)
        out["max_quality_drop"] = round(max(drops, default=0.0), 5)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--period", type=int, default=DEFAULTS["period"], help="damage every N-th frame")
    ap.add_argument("--offset", type=int, default=DEFAULTS["offset"], help="first damaged frame")
    ap.add_argument("--frames", type=int, default=DEFAULTS["frames"], help="frames per video (0: all)")
    ap.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    ap.add_argument("--kinds", default=",".join(damage.KINDS))
    ap.add_argument("--compare", type=Path, help="an earlier results file: report changed clean winners")
    ap.add_argument("--label", default="", help="a name for this run, stored in the results")
    ap.add_argument("--out", type=Path, help="results file (default: benchmarks/results/...)")
    args = ap.parse_args()
    assets = Path(os.environ.get("VASDK_ASSETS", ROOT / ".cache" / "assets"))
    earlier = json.loads(args.compare.read_text()) if args.compare else None
    kinds = [k for k in args.kinds.split(",") if k]
    settings = {"period": args.period, "offset": args.offset, "frames": args.frames, "seed": args.seed}
    result: dict[str, Any] = {
        "label": args.label,
        "settings": {**settings, "kinds": kinds, "min_pixels": MIN_PIXELS},
    }
    result["environment"] = environment()
    result["videos"] = {}
    print(
        f"{'video':<13} {'kind':<14} {'str':>3} {'tracks':>6} {'w/ damaged':>10} "
        f"{'obs':>5} {'damaged won':>11}"
    )
    for name in ("vtest.avi", "Megamind.avi"):
        clip = load_clip(assets, name, args.frames)
        video: dict[str, Any] = {"frames": len(clip.frames), "clean": clean_run(clip, earlier), "damage": []}
        for kind in kinds:
            for strength in damage.STRENGTHS:
                r = damage_run(clip, kind, strength, args.period, args.offset, args.seed)
                video["damage"].append(r)
                print(
                    f"{name:<13} {kind:<14} {strength:>3} {r['tracks']:>6} "
                    f"{r['tracks_with_damaged_candidate']:>10} "
                    f"{r['damaged_observations']:>5} {r['damaged_wins']:>11}"
                )
        c = video["clean"]
        extra = (
            f", {c['winners_changed']} clean winners changed, max drop {c['max_quality_drop']}"
            if earlier
            else ""
        )
        print(
            f"{name}: clean run {c['tracks']} tracks, "
            f"{c['update_us_per_observation']} us per observation{extra}"
        )
        result["videos"][name] = video
    total = sum(r["damaged_wins"] for v in result["videos"].values() for r in v["damage"])
    result["damaged_wins_total"] = total
    default = ROOT / "benchmarks" / "results" / "best_shot_damage.json"
    path = args.out or results_path(default, settings, DEFAULTS)
    write_results(path, result)
    print(f"damaged wins in all: {total}; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
