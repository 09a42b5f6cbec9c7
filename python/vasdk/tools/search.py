"""How much to prune each layer under a measured latency budget: a greedy search by sensitivity.

Why greedy by sensitivity rather than reinforcement learning (AMC) or evolution: every candidate
costs a real latency measurement and a detection pass over held-out frames (seconds each on a
small CPU), and yolov3-tiny has 11 prunable layers. A greedy walk that, at each step, prunes one
more notch from the layer with the best measured trade (latency saved per point of agreement
lost) needs a few dozen evaluations to cross the budget; an RL agent or a population needs
hundreds to thousands. The walk also yields the accuracy/latency front on the way.

Each step tries raising every layer's ratio by ``--step`` (capped at ``--max-ratio``) from the
current plan, prunes (``vasdk model prune``, no fine-tuning), measures the engine's median
latency at the given threads on this CPU (ONNX Runtime; OpenVINO with ``--backend openvino``)
and the agreement with the teacher (AP50 of the candidate's boxes against the teacher's on the
held-out frames), and keeps the candidate with the highest latency saved per agreement lost.
It stops once the latency is within the budget (or nothing is left to prune), then reports every
plan it kept, the Pareto front among them, and writes the best plan within the budget as a
``--ratios`` file for ``vasdk model prune`` (then ``vasdk model distill`` recovers accuracy).

    vasdk model search yolov3-tiny.onnx --frames vtest.avi --budget-ms 300 --out plan.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .calibrate import preprocess, read_frames
from .onnxutil import ModelToolError, load_model, ort_session
from .prune import prunable_convs, prune

__all__ = ["Point", "pareto", "search"]


@dataclass
class Point:
    ratios: dict[str, float]
    latency_ms: float
    agreement: float


def pareto(points: Sequence[Point]) -> list[Point]:
    """The points no other point beats on both latency (lower) and agreement (higher)."""
    front = [p for p in points if not any(q.latency_ms <= p.latency_ms and q.agreement >= p.agreement and
                                          (q.latency_ms < p.latency_ms or q.agreement > p.agreement)
                                          for q in points)]
    return sorted(front, key=lambda p: p.latency_ms)


def _latency(model: Path, x: np.ndarray, threads: int, runs: int, backend: str) -> float:
    if backend == "openvino":
        import openvino as ov

        compiled = ov.Core().compile_model(str(model), "CPU", {"INFERENCE_NUM_THREADS": threads})
        req = compiled.create_infer_request()
        run = lambda: req.infer({0: x})  # noqa: E731
    else:
        s = ort_session(str(model), threads=threads, level="all")
        name = s.get_inputs()[0].name
        run = lambda: s.run(None, {name: x})  # noqa: E731
    run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def _agreement(model: Path, teacher_dets: list[Any], frames: list[np.ndarray], classes: list[str]) -> float:
    from .evaluate import Variant, detect_frames
    from .metrics import mean_average_precision

    dets = detect_frames(Variant("candidate", model), frames, threads=2, optimization="all", classes=classes)
    return float(mean_average_precision(teacher_dets, dets, 0.5)[0])


def search(teacher: str | Path, frames: Sequence[np.ndarray], *, budget_ms: float, step: float = 0.125,
           max_ratio: float = 0.75, threads: int = 1, runs: int = 5, backend: str = "ort",
           classes: Sequence[str] = ("person",), max_steps: int = 40, layers: Sequence[str] | None = None,
           log: Any = None) -> tuple[list[Point], Point | None]:
    """Greedy sensitivity search; returns every kept plan (in order) and the best within budget.

    ``layers`` limits the candidates to those prunable convolutions (by name); the others stay whole."""
    from .evaluate import Variant, detect_frames

    teacher = Path(teacher)
    if budget_ms <= 0 or not 0 < step < 1 or not 0 < max_ratio < 1:
        raise ModelToolError("budget must be positive, step and max ratio in (0, 1)")
    card = json.loads(teacher.with_suffix(".json").read_text(encoding="utf-8"))
    convs, _ = prunable_convs(load_model(teacher))
    prunable = [c.name or c.output[0] for c in convs]
    unknown = [n for n in layers or () if n not in prunable]
    if unknown:
        raise ModelToolError(f"not a prunable layer of {teacher.name}: {', '.join(unknown)} "
                             f"(prunable: {', '.join(prunable)})")
    candidates = list(dict.fromkeys(layers)) if layers else prunable
    x = preprocess(frames[0], card["input"])
    classes = list(classes)
    t_dets = detect_frames(Variant("teacher", teacher), list(frames), threads=2, optimization="all",
                           classes=classes)
    with tempfile.TemporaryDirectory(prefix="vasdk-search-") as tmp:
        work = Path(tmp)
        (work / "teacher.json").write_text(json.dumps(card))
        onnx.save(load_model(teacher), work / "teacher.onnx")

        def evaluate(ratios: dict[str, float]) -> Point:
            cand = work / "cand.onnx"
            prune(work / "teacher.onnx", cand, ratios=ratios)
            return Point(dict(ratios), _latency(cand, x, threads, runs, backend),
                         _agreement(cand, t_dets, list(frames), classes))

        current = evaluate(dict.fromkeys(prunable, 0.0))
        kept = [current]
        if log:
            log(f"start: {current.latency_ms:.1f} ms, agreement 1.000")
        for _ in range(max_steps):
            if current.latency_ms <= budget_ms:
                break
            best: tuple[float, Point] | None = None
            for name in candidates:
                r = round(min(max_ratio, current.ratios[name] + step), 4)
                if r <= current.ratios[name]:
                    continue
                p = evaluate({**current.ratios, name: r})
                saved = current.latency_ms - p.latency_ms
                lost = max(current.agreement - p.agreement, 1e-3)
                score = saved / lost
                if saved > 0 and (best is None or score > best[0]):
                    best = (score, p)
            if best is None:
                break
            current = best[1]
            kept.append(current)
            if log:
                changed = {k: v for k, v in current.ratios.items() if v}
                log(f"step {len(kept) - 1}: {current.latency_ms:.1f} ms, agreement {current.agreement:.3f}, "
                    f"ratios {changed}")
    within = [p for p in kept if p.latency_ms <= budget_ms]
    return kept, (max(within, key=lambda p: p.agreement) if within else None)


def main(argv: Sequence[str] | None = None, prog: str = "vasdk model search") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Per-layer prune ratios under a measured latency "
                                "budget (greedy by sensitivity); writes a --ratios plan.")
    p.add_argument("teacher", type=Path, help="model with its card")
    p.add_argument("--frames", type=Path, required=True, help="held-out video, folder or image")
    p.add_argument("--count", type=int, default=20, help="held-out frames (default 20)")
    p.add_argument("--budget-ms", type=float, required=True, help="latency budget per frame")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--backend", choices=["ort", "openvino"], default="ort")
    p.add_argument("--step", type=float, default=0.125, help="ratio added per step (default 0.125)")
    p.add_argument("--max-ratio", type=float, default=0.75)
    p.add_argument("--runs", type=int, default=5, help="timed runs per candidate (median)")
    p.add_argument("--classes", default="person", help="comma-separated classes the agreement counts")
    p.add_argument("--layers", help="comma-separated convolutions to consider (default: every prunable one)")
    p.add_argument("--out", type=Path, required=True, help="the plan (JSON ratios) to write")
    p.add_argument("--report", type=Path, help="every kept plan and the Pareto front (JSON)")
    args = p.parse_args(argv)
    try:
        frames = read_frames(args.frames, count=args.count, step=5)
        kept, best = search(args.teacher, frames, budget_ms=args.budget_ms, step=args.step,
                            max_ratio=args.max_ratio, threads=args.threads, runs=args.runs,
                            backend=args.backend, classes=[c for c in args.classes.split(",") if c],
                            layers=[n for n in (args.layers or "").split(",") if n] or None,
                            log=lambda m: print(m, flush=True))
    except (ModelToolError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    front = pareto(kept)
    print("Pareto front (latency ms, agreement AP50):")
    for pt in front:
        print(f"  {pt.latency_ms:8.1f}  {pt.agreement:.3f}")
    if args.report:
        doc = {"budget_ms": args.budget_ms, "threads": args.threads, "backend": args.backend,
               "kept": [vars(k) for k in kept], "pareto": [vars(k) for k in front]}
        args.report.write_text(json.dumps(doc, indent=2) + "\n")
    if best is None:
        print(f"{prog}: no plan reached {args.budget_ms} ms (best {min(k.latency_ms for k in kept):.1f} ms); "
              "raise --max-ratio or the budget", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps({k: v for k, v in best.ratios.items() if v}, indent=2) + "\n")
    print(f"plan within {args.budget_ms} ms: {best.latency_ms:.1f} ms, agreement {best.agreement:.3f}; "
          f"wrote {args.out}")
    return 0
