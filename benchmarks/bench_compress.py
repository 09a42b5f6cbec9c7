"""Compression end to end on yolov3-tiny: prune, distil, quantise, and one report.

Steps: ``vasdk model prune`` (L1, one ratio), ``vasdk model distill`` of the pruned student
against the original teacher (least-squares feature fit at the card's size, then gradient
training) on unlabelled *training* frames: Megamind.avi and the still images of the opencv-doc
package that setup already downloads (never vtest.avi), ``vasdk model quantize`` (portable INT8,
calibrated on the training frames) of the teacher and of the distilled student. ``--pareto``
adds pruned-and-fitted students at other ratios to the same evaluation. Then
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
import io
import json
import subprocess
import sys
import tarfile
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


# Pictures of the calibration-pattern, text and logo kind teach a detector nothing.
_SKIP = ("left", "right", "digits", "aloeGT", "mask", "templ", "tmpl", "gradient", "notes", "Logo", "logo",
         "chessboard", "sudoku", "imageText", "pca_test", "detect_blob", "ml.png", "box.png", "text_")


def _source(name: str, work: Path) -> Path:
    """A training source: a path, an asset, or the opencv-doc still images extracted once."""
    if Path(name).exists():
        return Path(name)
    if name != "opencv-doc-images":
        return asset_path(name)
    out = work / name
    if not out.is_dir():
        deb = next(asset_path("downloads").glob("opencv-doc_*.deb"))
        out.mkdir(parents=True)
        tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True,
                                   capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tf:
            for m in tf.getmembers():
                n = Path(m.name).name
                if "/examples/data/" in m.name and m.isfile() and n.endswith((".jpg", ".png")) and \
                        "/" not in m.name.split("/examples/data/")[1] and not n.startswith(_SKIP):
                    (out / n).write_bytes(tf.extractfile(m).read())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ratio", type=float, default=0.5, help="share of filters pruned per layer")
    ap.add_argument("--budget", type=float, default=10.0, help="training minutes after the fit")
    ap.add_argument("--steps", type=int, default=100000)
    ap.add_argument("--train", nargs="+", default=["Megamind.avi", "opencv-doc-images"],
                    help="training sources (asset names or paths; opencv-doc-images: the still images of "
                    "the opencv-doc package in the asset downloads)")
    ap.add_argument("--train-count", type=int, default=96)
    ap.add_argument("--fit-frames", type=int, default=48)
    ap.add_argument("--pareto", default="", help="other prune ratios to fit and evaluate, e.g. 0.1,0.2,0.3")
    ap.add_argument("--eval", default="vtest.avi", help="held-out video for agreement")
    ap.add_argument("--eval-count", type=int, default=60)
    ap.add_argument("--input-size", default="416x320", help="distillation input size")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench_compress")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "compress.json")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    env = environment()
    teacher = _copy_teacher(work)
    train = [_source(t, work) for t in args.train]
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
    dr = distill(pruned, student, teacher=teacher, frames=train, count=args.train_count,
                 steps=args.steps, budget_min=args.budget, batch=args.batch, lr=args.lr,
                 input_size=(int(w), int(h)), fit_count=args.fit_frames, progress=sys.stderr.isatty())
    report["steps"]["distill"] = {
        "seconds": round(time.monotonic() - t, 1), "steps": dr.steps,
        "fit_seconds": round(dr.fit.seconds, 1) if dr.fit else None,
        "fit_layers": [vars(x) for x in dr.fit.layers] if dr.fit else None,
        "heldout_loss_pruned_fitted_end": [dr.heldout_loss_start, dr.heldout_loss_fitted,
                                           dr.heldout_loss_end],
        "train_loss_first_last": [dr.train_loss[0], dr.train_loss[-1]] if dr.train_loss else None}
    extra = []
    for r in [float(v) for v in args.pareto.split(",") if v]:
        p = work / f"pruned{round(r * 100)}.onnx"
        prune(teacher, p, ratio=r)
        distill(p, work / f"fitted{round(r * 100)}.onnx", teacher=teacher, frames=train, count=8, steps=0,
                fit_count=args.fit_frames, progress=False)
        extra += [Variant(f"pruned{round(r * 100)}", p), Variant(f"fitted{round(r * 100)}",
                                                                  work / f"fitted{round(r * 100)}.onnx")]

    calib = [f for src in train for f in read_frames(src, count=16, step=8)]
    t = time.monotonic()
    q_teacher, q_student = work / "teacher_int8.onnx", work / "distilled_int8.onnx"
    quantize_model(teacher, q_teacher, calib, QuantizeConfig())
    quantize_model(student, q_student, calib, QuantizeConfig())
    report["steps"]["quantize_s"] = round(time.monotonic() - t, 1)

    frames = read_frames(held, count=args.eval_count, step=10)
    variants = [Variant("teacher", teacher), Variant("pruned", pruned), Variant("distilled", student),
                Variant("teacher_int8", q_teacher), Variant("distilled_int8", q_student), *extra]
    ev = evaluate(variants, frames, threads=(1, 2), latency_frames=10, latency_reps=3, classes=["person"],
                  frame_source=str(held))
    flops = {v.name: sum(p.flops for p in conv_layers(onnx.load(v.model), 768, 576, svd=False))
             for v in variants if "int8" not in v.name}
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
