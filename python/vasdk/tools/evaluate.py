"""Evaluate model variants (float, optimized, quantized) side by side through the SDK.

Every variant runs through ``vasdk.Detector`` (the SDK's preprocessing, engine and decoder,
not Python ONNX Runtime) on the same frames. Reported per variant:

- median latency of one detection (preprocess + inference + decode) on 1 and 2 threads, with
  the variants interleaved frame by frame so that load from other processes hits all alike,
  and of inference alone through ``vasdk._core.Engine`` (the SDK's engine) the same way;
- model size on disk;
- detection agreement: mAP@0.5 of the variant's detections with the reference variant's
  (the first one, normally FP32) taken as ground truth, and mAP@0.5 against real ground truth
  when it is given.

Each variant needs a card: ``<model>.json`` beside it (a quantized model's card is the float
card with ``"precision": "int8"``), or an explicit ``card``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .cpuinfo import cpu_info
from .metrics import FrameDetections, mean_average_precision
from .onnxutil import ModelToolError, file_size

__all__ = ["Variant", "detect_frames", "evaluate", "main"]

Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Variant:
    """One model file to compare; ``name`` labels it in tables and plots."""

    name: str
    model: Path
    card: Path | None = None

    def card_path(self) -> Path:
        p = Path(self.card) if self.card else Path(self.model).with_suffix(".json")
        if not p.is_file():
            raise ModelToolError(f"{self.name}: no model card at {p}")
        return p


def _detector(v: Variant, threads: int, optimization: str, score: float | None,
              classes: Sequence[str] | None = None) -> Any:
    from ..detector import Detector
    from ..errors import VasError

    if not Path(v.model).is_file():
        raise ModelToolError(f"{v.name}: no such model file {v.model}")
    try:
        return Detector(v.model, card=str(v.card_path()), threads=threads, optimization=optimization,
                        score_threshold=score, classes=list(classes) if classes else None)
    except VasError as e:
        raise ModelToolError(f"{v.name}: the SDK cannot load {v.model} ({e})") from None


def _as_frame_dets(d: Any) -> FrameDetections:
    return FrameDetections(np.asarray(d.boxes), np.asarray(d.scores), np.asarray(d.class_ids))


def detect_frames(v: Variant, frames: Sequence[Frame], *, threads: int = 2, optimization: str = "all",
                  score: float | None = None, classes: Sequence[str] | None = None,
                  progress: bool = False) -> list[FrameDetections]:
    """Detections of ``v`` on every frame, through the SDK (``classes``: names to keep)."""
    from tqdm import tqdm

    det = _detector(v, threads, optimization, score, classes)
    out = []
    for f in tqdm(frames, desc=f"detect {v.name}", unit="frame", disable=not progress, leave=False):
        out.append(_as_frame_dets(det(f)))
    return out


def _latencies(variants: Sequence[Variant], frames: Sequence[Frame], threads: int, optimization: str,
               classes: Sequence[str] | None, progress: bool) -> list[float]:
    from tqdm import tqdm

    dets = [_detector(v, threads, optimization, None, classes) for v in variants]
    times: list[list[float]] = [[] for _ in variants]
    for d in dets:
        d(frames[0])  # warm-up: first run allocates
    for f in tqdm(frames, desc=f"latency {threads} thread(s)", unit="frame", disable=not progress,
                  leave=False):
        for k, d in enumerate(dets):
            t = time.perf_counter()
            d(f)
            times[k].append((time.perf_counter() - t) * 1e3)
    return [statistics.median(t) for t in times]


def _engine_latencies(variants: Sequence[Variant], frames: Sequence[Frame], threads: int, optimization: str,
                      progress: bool) -> list[float] | None:
    """Median inference-only latency (ms) through ``vasdk._core.Engine``; None without it."""
    from tqdm import tqdm

    from .. import _core
    from .calibrate import preprocess

    if not hasattr(_core, "Engine"):
        return None
    opts = json.dumps({"threads": threads, "optimization": optimization})
    engines, feeds = [], []
    for v in variants:
        spec = json.loads(v.card_path().read_text(encoding="utf-8"))["input"]
        engines.append(_core.Engine(str(v.model), opts))
        feeds.append([{spec["name"]: preprocess(f, spec)} for f in frames])
    times: list[list[float]] = [[] for _ in variants]
    for k, e in enumerate(engines):
        e.run(feeds[k][0])  # warm-up
    for i in tqdm(range(len(frames)), desc=f"inference {threads} thread(s)", unit="frame",
                  disable=not progress, leave=False):
        for k, e in enumerate(engines):
            t = time.perf_counter()
            e.run(feeds[k][i])
            times[k].append((time.perf_counter() - t) * 1e3)
    return [statistics.median(t) for t in times]


def evaluate(variants: Sequence[Variant], frames: Sequence[Frame], *, threads: Sequence[int] = (1, 2),
             latency_frames: int = 20, latency_reps: int = 1, optimization: str = "all",
             pred_score: float | None = None,
             classes: Sequence[str] | None = None,
             ground_truth: Sequence[FrameDetections] | None = None, progress: bool = False,
             title: str = "", frame_source: str = "") -> dict[str, Any]:
    """Compare ``variants`` (the first is the reference) on ``frames``; returns the report dict.

    ``pred_score`` lowers the score threshold of the non-reference variants for the agreement
    mAP (default: each card's own threshold, i.e. both run exactly as deployed). Latency is the
    median over ``latency_reps`` repetitions of the median over ``latency_frames`` frames. ``classes``
    keeps only those class names (as the deployed detector's ``classes`` option does); without
    it, a class the reference finds once on a few frames weighs as much as ``person``.
    """
    if len(variants) < 1:
        raise ModelToolError("evaluate: no model variants given")
    if not frames:
        raise ModelToolError("evaluate: no frames")
    if ground_truth is not None and len(ground_truth) != len(frames):
        raise ModelToolError(f"evaluate: {len(ground_truth)} ground-truth frames for {len(frames)} frames")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise ModelToolError(f"evaluate: variant names must be unique, got {names}")

    ref = detect_frames(variants[0], frames, threads=max(threads), optimization=optimization,
                        classes=classes, progress=progress)
    rows: list[dict[str, Any]] = []
    for k, v in enumerate(variants):
        dets = ref if k == 0 else detect_frames(v, frames, threads=max(threads), optimization=optimization,
                                                score=pred_score, classes=classes, progress=progress)
        m, per_class = mean_average_precision(ref, dets, 0.5)
        card = json.loads(v.card_path().read_text(encoding="utf-8"))
        row: dict[str, Any] = {
            "name": v.name,
            "model": str(v.model),
            "precision": str(card.get("precision", "fp32")),
            "quant_target": str(card.get("quantization", {}).get("target", "")),
            "size_bytes": file_size(v.model),
            "detections": int(sum(len(d.scores) for d in dets)),
            "map50_vs_reference": round(m, 4),
            "ap50_per_class": {card["classes"][c]: round(a, 4) for c, a in per_class.items()},
            "latency_ms": {},
        }
        if ground_truth is not None:
            row["map50_vs_ground_truth"] = round(mean_average_precision(ground_truth, dets, 0.5)[0], 4)
        rows.append(row)

    lat_frames = list(frames[:max(1, latency_frames)])
    for t in threads:
        runs = [_latencies(variants, lat_frames, t, optimization, classes, progress)
                for _ in range(max(1, latency_reps))]
        for k, row in enumerate(rows):
            per_rep = [round(r[k], 2) for r in runs]
            row["latency_ms"][str(t)] = round(statistics.median(per_rep), 2)
            row.setdefault("latency_ms_reps", {})[str(t)] = per_rep
        eruns = [_engine_latencies(variants, lat_frames, t, optimization, progress)
                 for _ in range(max(1, latency_reps))]
        if all(r is not None for r in eruns):
            for k, row in enumerate(rows):
                per_rep = [round(float(r[k]), 2) for r in eruns if r is not None]
                row.setdefault("inference_ms", {})[str(t)] = round(statistics.median(per_rep), 2)
                row.setdefault("inference_ms_reps", {})[str(t)] = per_rep
    for row in rows:
        row["speedup"] = {t: round(rows[0]["latency_ms"][t] / row["latency_ms"][t], 3)
                          for t in row["latency_ms"]}
        if "inference_ms" in row:
            row["inference_speedup"] = {t: round(rows[0]["inference_ms"][t] / row["inference_ms"][t], 3)
                                        for t in row["inference_ms"]}
        # Spread: the speedup of each repetition on its own (the variants of one repetition
        # ran interleaved, so they saw the same load).
        for key in ("latency_ms_reps", "inference_ms_reps"):
            if key in row:
                row[key.replace("_ms_reps", "_speedup_range")] = {
                    t: [round(min(a / b for a, b in zip(rows[0][key][t], reps)), 3),
                        round(max(a / b for a, b in zip(rows[0][key][t], reps)), 3)]
                    for t, reps in row[key].items()}
    return {
        "title": title or Path(variants[0].model).stem,
        "reference": variants[0].name,
        "frames": len(frames),
        "frame_source": frame_source,
        "latency_frames": len(lat_frames),
        "latency_reps": max(1, latency_reps),
        "optimization": optimization,
        "pred_score": pred_score,
        "classes": list(classes) if classes else "all",
        "threads": list(threads),
        "cpu": cpu_info(),
        "variants": rows,
    }


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def _variant(text: str) -> Variant:
    name, sep, path = text.partition("=")
    if not sep:
        return Variant(Path(text).stem, Path(text))
    return Variant(name, Path(path))


def main(argv: Sequence[str] | None = None, prog: str = "python -m vasdk.tools.evaluate") -> int:
    from .calibrate import read_frames
    from .report import write_report

    p = argparse.ArgumentParser(prog=prog, description="Compare model variants through the SDK.")
    p.add_argument("variants", nargs="+", type=_variant,
                   help="[NAME=]MODEL.onnx ...; the first is the reference (normally FP32)")
    p.add_argument("--frames", type=Path, required=True, help="video, folder of images, or an image")
    p.add_argument("--start", type=int, default=0, help="first video frame (default 0)")
    p.add_argument("--count", type=int, default=100, help="frames (default 100)")
    p.add_argument("--step", type=int, default=1, help="video frame step (default 1)")
    p.add_argument("--threads", type=_ints, default=[1, 2], help="comma-separated (default 1,2)")
    p.add_argument("--latency-frames", type=int, default=20, help="frames timed per variant (default 20)")
    p.add_argument("--optimization", choices=["basic", "extended", "all"], default="all",
                   help="runtime graph optimization (default all, the SDK's default)")
    p.add_argument("--pred-score", type=float, help="score threshold of the compared variants")
    p.add_argument("--classes", help="comma-separated class names to keep (default: all)")
    p.add_argument("--out-dir", type=Path, help="write NAME.md, NAME.json and NAME.png here")
    p.add_argument("--name", help="report name (default: the reference model's stem)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    try:
        frames = read_frames(args.frames, count=args.count, start=args.start, step=args.step)
        rep = evaluate(args.variants, frames, threads=args.threads, latency_frames=args.latency_frames,
                       optimization=args.optimization, pred_score=args.pred_score,
                       classes=[c.strip() for c in args.classes.split(",")] if args.classes else None,
                       progress=not args.quiet and sys.stderr.isatty(), title=args.name or "",
                       frame_source=f"{args.frames} start {args.start} step {args.step} count {len(frames)}")
        from .report import markdown

        cpu = rep["cpu"]
        print(f"CPU: {cpu['model']} ({cpu['arch']}, {cpu['cores']} cores, load {cpu['load_avg']}); "
              f"features: {' '.join(cpu['features']) or '-'}; int8 kernels: {cpu['int8_kernels']}")
        print(markdown(rep, image=None))
        if args.out_dir:
            for path in write_report(rep, args.out_dir, args.name or rep["title"]):
                print(f"wrote {path}")
    except ModelToolError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
