"""Compression end to end on yolov3-tiny: prune, distil, quantise, and one report.

Steps: ``vasdk model prune`` (L1, one ratio), ``vasdk model distill`` of the pruned student
against the original teacher on frames of a *training* video, ``vasdk model quantize`` (portable
INT8, calibrated on the training video) of the teacher and of the distilled student. Then
``vasdk model evaluate`` compares every model with the teacher on frames of *another* video
(agreement: AP50 of each model's boxes against the teacher's, persons only, as deployed) and
times them at 1 and 2 threads, interleaved. Parameters, FLOPs and file sizes come with it.

Targets (issue text): pruned + distilled FP32 at least 2x the teacher's FP32 at 1 thread with
agreement >= 0.90; pruned + distilled INT8 at least 3.5x with agreement >= 0.85; the distil run
within 30 minutes on 2 cores.

    VASDK_ASSETS=$PWD/.cache/assets OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_compress.py \\
        --ratio 0.5 --budget 20

Writes benchmarks/results/compress.json (and .md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import onnx  # noqa: E402
from _env import environment  # noqa: E402

from vasdk.asset_paths import asset_path  # noqa: E402
from vasdk.tools.calibrate import read_frames  # noqa: E402
from vasdk.tools.distill import distill  # noqa: E402
from vasdk.tools.evaluate import Variant, evaluate  # noqa: E402
from vasdk.tools.lowrank import conv_layers  # noqa: E402
from vasdk.tools.prune import prune  # noqa: E402
from vasdk.tools.quantize import QuantizeConfig, quantize_model  # noqa: E402


def _copy_teacher(work: Path) -> Path:
    for name in ("yolov3-tiny.onnx", "yolov3-tiny.json"):
        (work / name).write_bytes(asset_path(name).read_bytes())
    return work / "yolov3-tiny.onnx"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ratio", type=float, default=0.5, help="share of filters pruned per layer")
    ap.add_argument("--budget", type=float, default=30.0, help="distillation minutes")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--train", default="Megamind.avi", help="training video (an asset name or a path)")
    ap.add_argument("--train-count", type=int, default=96)
    ap.add_argument("--eval", default="vtest.avi", help="held-out video for agreement")
    ap.add_argument("--eval-count", type=int, default=60)
    ap.add_argument("--input-size", default="416x320", help="distillation input size")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench_compress")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compress.json")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = environment()
    teacher = _copy_teacher(work)
    train = Path(args.train) if Path(args.train).is_file() else asset_path(args.train)
    held = Path(args.eval) if Path(args.eval).is_file() else asset_path(args.eval)
    w, _, h = args.input_size.partition("x")
    report: dict[str, Any] = {"settings": vars(args) | {"work": str(work), "out": str(args.out)},
                              "environment": env, "steps": {}}

    t = time.monotonic()
    pruned = work / f"pruned{int(args.ratio * 100)}.onnx"
    pr = prune(teacher, pruned, ratio=args.ratio)
    report["steps"]["prune"] = {"seconds": round(time.monotonic() - t, 1), "params": [pr.params_before,
                                pr.params_after], "conv_flops": [pr.conv_flops_before, pr.conv_flops_after]}

    t = time.monotonic()
    student = work / "distilled.onnx"
    dr = distill(pruned, student, teacher=teacher, frames=[train], count=args.train_count,
                 steps=args.steps, budget_min=args.budget, batch=args.batch, lr=args.lr,
                 input_size=(int(w), int(h)), progress=sys.stderr.isatty())
    report["steps"]["distill"] = {"seconds": round(time.monotonic() - t, 1), "steps": dr.steps,
                                  "heldout_loss": [dr.heldout_loss_start, dr.heldout_loss_end],
                                  "train_loss_first_last": [dr.train_loss[0], dr.train_loss[-1]]}

    calib = read_frames(train, count=32, step=8)
    t = time.monotonic()
    q_teacher, q_student = work / "teacher_int8.onnx", work / "distilled_int8.onnx"
    quantize_model(teacher, q_teacher, calib, QuantizeConfig())
    quantize_model(student, q_student, calib, QuantizeConfig())
    report["steps"]["quantize_s"] = round(time.monotonic() - t, 1)

    frames = read_frames(held, count=args.eval_count, step=10)
    variants = [Variant("teacher", teacher), Variant("pruned", pruned), Variant("distilled", student),
                Variant("teacher_int8", q_teacher), Variant("distilled_int8", q_student)]
    ev = evaluate(variants, frames, threads=(1, 2), latency_frames=10, latency_reps=3, classes=["person"],
                  frame_source=str(held))
    flops = {v.name: sum(p.flops for p in conv_layers(onnx.load(v.model), 768, 576, svd=False))
             for v in variants[:3]}
    report["evaluate"] = ev
    rows = []
    for r in ev["variants"]:
        rows.append({"name": r["name"], "agreement_ap50": r["map50_vs_reference"],
                     "latency_ms": r["latency_ms"], "speedup": r["speedup"],
                     "size_mb": round(r["size_bytes"] / 2**20, 2),
                     "conv_gflops": round(flops[r["name"]] / 1e9, 2) if r["name"] in flops else None})
    report["rows"] = rows
    d = {r["name"]: r for r in rows}
    report["targets"] = {
        "distilled_fp32_speedup_1t>=2": [d["distilled"]["speedup"]["1"], d["distilled"]["speedup"]["1"] >= 2],
        "distilled_fp32_agreement>=0.90": [d["distilled"]["agreement_ap50"],
                                           d["distilled"]["agreement_ap50"] >= 0.9],
        "distilled_int8_speedup_1t>=3.5": [d["distilled_int8"]["speedup"]["1"],
                                           d["distilled_int8"]["speedup"]["1"] >= 3.5],
        "distilled_int8_agreement>=0.85": [d["distilled_int8"]["agreement_ap50"],
                                           d["distilled_int8"]["agreement_ap50"] >= 0.85],
        "distill_within_30_min": [report["steps"]["distill"]["seconds"] / 60,
                                  report["steps"]["distill"]["seconds"] <= 1800],
    }
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    lines = ["| model | agreement AP50 (persons, held-out video) | 1 thread ms | 2 threads ms | speedup 1t | "
             "conv GFLOPs | MB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['agreement_ap50']:.3f} | {r['latency_ms']['1']:.1f} | "
                     f"{r['latency_ms']['2']:.1f} | {r['speedup']['1']:.2f}x | {r['conv_gflops'] or '-'} | "
                     f"{r['size_mb']} |")
    lines.append("")
    lines += [f"- {k}: {v[0]:.3f} ({'met' if v[1] else 'missed'})" for k, v in report["targets"].items()]
    text = "\n".join(lines) + "\n"
    args.out.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
