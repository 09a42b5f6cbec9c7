"""INT8 post-training quantization of the real models: speed and detection agreement.

For yolov3-tiny (768x576, vtest.avi) and CenterFace (640x480, Megamind.avi):

- calibration frames: every 25th (vtest) / 11th (Megamind) frame;
- evaluation frames: 100 frames spread over the rest of the clip, none used for calibration;
- variants: FP32; INT8 (uint8 activations, per-channel int8 weights, heads in float) with
  MinMax, Percentile (99.999) and Entropy (2048 bins); INT8 MinMax with the heads quantized
  too (what onnxruntime's defaults do); w8a16 (int16 activations, accuracy study only);
- reported: median latency of one detection through the SDK on 1 and 2 threads (variants
  interleaved frame by frame, repeated ``--reps`` times: median of the repetition medians),
  size, mAP@0.5 against FP32's detections; for yolov3-tiny also against ground truth: the six
  walkers of vtest.avi frame 300, labelled by hand (tests/python/hand_labels.py; found = one
  detection inside each label). CenterFace has no labelled frames, so FP32 is its only yardstick.

The timings mean something only on an idle machine: the CPU-busy share (the share of CPU time
used over 1 s just before each model's timing, this process sleeping) must be at most 10%, or
nothing is written (``--allow-busy`` writes it with ``"busy": true`` at the top). At least 7
repetitions (``--reps``), each interleaving the variants frame by frame; the JSON keeps every
repetition and the spread. Each run writes its own files; runs with other settings get files
named after them, never merged into another run's.

Writes benchmarks/results/quantize.json and per-model reports quantize_<model>.{md,json,png}
(``--tag`` renames them). ``--variants int8-ort-defaults --tag quantize_ortdefaults`` measures
onnxruntime's defaults (int8 activations, per-tensor weights, outputs quantized) on their own.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_quantize.py [--models yolov3-tiny,centerface]
        [--reps 7] [--allow-busy]

Scoreboard (benchmarks/run_all.py), per model: the default INT8 (int8-minmax) against
onnxruntime's defaults (int8-ort-defaults) on mAP@0.5 vs FP32 (ratio >= 1: at least as
accurate), and its 1-thread detect latency against FP32 (ratio >= 1: quantizing must not make
it slower). run_all measures only those variants, with --allow-busy (the summary records the
load); --quick evaluates 10 frames and times 1 per repetition instead of 100 and 30, on 1
thread only (the rows' thread count; the full run adds 2), and reuses INT8 models quantized
earlier from the same inputs (benchmarks/_quantcache.py: no row times the quantization).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "python"))

from _env import (  # noqa: E402
    BUSY_LIMIT,
    environment,
    results_path,
    score_row,
    thread_counts,
    write_results,
    write_scoreboard,
)
from _quantcache import quantize  # noqa: E402
from hand_labels import VTEST_300_WALKERS, match_labels  # noqa: E402

from vasdk.asset_paths import asset_path  # noqa: E402
from vasdk.tools.calibrate import read_video_frames  # noqa: E402
from vasdk.tools.evaluate import Variant, evaluate  # noqa: E402
from vasdk.tools.quantize import QuantizeConfig  # noqa: E402
from vasdk.tools.report import write_report  # noqa: E402

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": ["--variants", "int8-minmax,int8-ort-defaults", "--allow-busy"],
              "quick": ["--variants", "int8-minmax,int8-ort-defaults", "--allow-busy", "--eval-frames", "10",
                        "--latency-frames", "1", "--threads", "1", "--reuse-quantized"],
              "out": ["--out-dir", "{dir}"]}
# Scoreboard targets: the default INT8 at least as accurate as onnxruntime's defaults, and
# not slower than FP32 on 1 thread.
MIN_MAP_RATIO = 1.0
MIN_SPEEDUP = 1.0

MODELS: dict[str, dict[str, Any]] = {
    "yolov3-tiny": {"video": "vtest.avi", "frames": 795, "calib_step": 25,
                    "classes": ["person", "car", "truck"]},
    "centerface": {"video": "Megamind.avi", "frames": 270, "calib_step": 11, "classes": None,
                   "extra_variants": ["int8-minmax-floatfirst", "int8-mobile", "int8-mobile-percentile",
                                      "int8-mobile-vnni"]},
}

VARIANTS: list[tuple[str, QuantizeConfig]] = [
    ("int8-minmax", QuantizeConfig(method="minmax")),  # the default: target portable (7-bit weights)
    ("int8-minmax-vnni", QuantizeConfig(method="minmax", target="vnni")),  # full 8-bit weights
    ("int8-percentile", QuantizeConfig(method="percentile")),
    ("int8-entropy", QuantizeConfig(method="entropy")),
    ("int8-minmax-qheads", QuantizeConfig(method="minmax", float_heads=False)),
    ("w8a16-minmax", QuantizeConfig(method="minmax", activation_type="int16")),
    # quantize_static's defaults: int8 activations, per-tensor weights, everything quantized.
    ("int8-ort-defaults", QuantizeConfig(method="minmax", activation_type="int8", per_channel=False,
                                         float_heads=False)),
    # The mobile preset (stem conv in float, heads quantized), and its first half alone.
    ("int8-minmax-floatfirst", QuantizeConfig(method="minmax", float_first=True)),
    ("int8-mobile", QuantizeConfig(method="minmax", preset="mobile")),
    ("int8-mobile-vnni", QuantizeConfig(method="minmax", preset="mobile", target="vnni")),
    ("int8-mobile-percentile", QuantizeConfig(method="percentile", preset="mobile")),
]
OPTIONAL_VARIANTS = {"int8-ort-defaults", "int8-minmax-floatfirst", "int8-mobile", "int8-mobile-percentile",
                     "int8-mobile-vnni"}
DEFAULT_VARIANTS = [v for v, _ in VARIANTS if v not in OPTIONAL_VARIANTS]


def split(n_frames: int, calib_step: int, n_eval: int = 100) -> tuple[list[int], list[int]]:
    calib = list(range(0, n_frames, calib_step))
    rest = [i for i in range(n_frames) if i % calib_step]
    pick = np.linspace(0, len(rest) - 1, n_eval).round().astype(int)
    ev = [rest[i] for i in pick]
    assert not set(calib) & set(ev)
    return calib, ev


MIN_REPS = 7


def walkers_found(model: Path, person: int = 0) -> dict[str, Any]:
    """The hand-labelled walkers of vtest.avi frame 300 that `model` finds (scores >= 0.5)."""
    import vasdk

    frame = read_video_frames(asset_path("vtest.avi"), [300])[0]
    det = vasdk.Detector(model, threads=2)
    d = det(frame)
    keep = (d.class_ids == person) & (d.scores >= 0.5)
    pairs = match_labels(VTEST_300_WALKERS, d.boxes[keep])
    return {"walkers": len(VTEST_300_WALKERS), "found": len(pairs),
            "extra_person_boxes": int(keep.sum()) - len(pairs),
            "iou_with_labels": [round(v, 3) for _, _, v in pairs]}


def run_model(name: str, work: Path, out_dir: Path, reps: int, latency_frames: int,
              only: list[str], tag: str, all_classes: bool = False,
              optimization: str = "all", default_set: bool = False,
              env: dict[str, Any] | None = None, eval_frames: int = 100,
              threads: tuple[int, ...] = (1, 2), reuse_quantized: bool = False) -> dict[str, Any]:
    env = env or environment()
    spec = dict(MODELS[name])
    if all_classes:
        spec["classes"] = None
    model = asset_path(f"{name}.onnx")
    video = asset_path(spec["video"])
    calib_idx, eval_idx = split(spec["frames"], spec["calib_step"], eval_frames)
    calib = read_video_frames(video, calib_idx)
    frames = read_video_frames(video, eval_idx)
    variants = [Variant("fp32", model)]
    quant_info = {}
    for vname, cfg in VARIANTS:
        if vname not in only and not (default_set and vname in spec.get("extra_variants", [])):
            continue
        dst = work / f"{name}.{vname}.onnx"
        t = time.perf_counter()
        res, reused = quantize(model, dst, calib, cfg, reuse=reuse_quantized, progress=True)
        quant_info[vname] = {"seconds": round(time.perf_counter() - t, 1), "reused": reused,
                             "float_nodes": res.float_nodes,
                             "method": cfg.method, "activations": cfg.activation_type,
                             "per_channel": cfg.per_channel, "preset": cfg.preset,
                             "target": cfg.target, "weight_bits": cfg.weight_bits,
                             "float_first": cfg.float_first, "float_heads": cfg.float_heads}
        print(f"  {'reused' if reused else 'quantized'} {vname} in {quant_info[vname]['seconds']} s",
              flush=True)
        variants.append(Variant(vname, dst))

    final = evaluate(variants, frames, threads=threads, latency_frames=latency_frames, latency_reps=reps,
                     optimization=optimization,
                     classes=spec["classes"], progress=True, title=name,
                     frame_source=f"{spec['video']}: {len(eval_idx)} frames spread over the clip, "
                                  f"none of the {len(calib_idx)} calibration frames (every "
                                  f"{spec['calib_step']}th)")
    for row in final["variants"]:
        row["quantize"] = quant_info.get(row["name"])
        if name == "yolov3-tiny":
            row["ground_truth_vtest_300"] = walkers_found(Path(row["model"]))
        for t, per_rep in row.get("latency_ms_reps", {}).items():
            row.setdefault("latency_spread", {})[t] = round(
                (max(per_rep) - min(per_rep)) / statistics.median(per_rep), 3)
    final["notes"] = [
        f"Latency: median over {reps} repetitions of the per-repetition median; latency_spread is "
        "(max - min) / median of the repetitions. CPU-busy share before the run: "
        f"{env['cpu_busy_share_before']} (limit {BUSY_LIMIT}).",
        "Every int8 variant uses the default target `portable` (weights in 7 bits, accurate on CPUs "
        "without VNNI) except `-vnni` (full 8-bit weights, accurate only on VNNI x86 or ARM64).",
        "int8-minmax/-percentile/-entropy: uint8 activations, int8 per-channel weights, detection "
        "heads kept in float; int8-minmax-qheads also quantizes the heads (as onnxruntime does by "
        "default); int8-ort-defaults: onnxruntime's defaults (int8 activations, per-tensor weights, "
        "everything quantized); w8a16: int16 activations (slow on CPU by design, accuracy study "
        "only; its card says int8, the weights' type).",
        "int8-minmax-floatfirst: as int8-minmax with the stem convolution (3 input channels) in float; "
        "int8-mobile / int8-mobile-percentile: the tool's `mobile` preset (stem in float, heads "
        "quantized) with MinMax / Percentile calibration.",
        "Entropy uses a 2048-bin histogram and 128 quantized bins (onnxruntime's calibrator "
        "created directly, ranges clipped to the observed min/max).",
    ]
    final["environment"] = env
    write_report(final, out_dir, f"{tag}_{name}")
    return final


def scoreboard_rows(name: str, rep: dict[str, Any]) -> list[dict[str, Any]]:
    """The scoreboard's rows for one model, when the report has the variants they compare."""
    by = {r["name"]: r for r in rep["variants"]}
    if not {"fp32", "int8-minmax", "int8-ort-defaults"} <= set(by):
        return []
    ours, ort_def, fp32 = by["int8-minmax"], by["int8-ort-defaults"], by["fp32"]
    return [
        score_row(f"quantize {name} INT8 mAP@0.5 vs FP32", "mAP", ours["map50_vs_reference"],
                  ort_def["map50_vs_reference"], "onnxruntime quantize_static defaults", better="higher",
                  target=("ratio", ">=", MIN_MAP_RATIO)),
        score_row(f"quantize {name} INT8 detect, 1 thread", "ms", ours["latency_ms"]["1"],
                  fp32["latency_ms"]["1"], "the FP32 model", better="lower",
                  target=("ratio", ">=", MIN_SPEEDUP)),
    ]


def print_table(rep: dict[str, Any]) -> None:
    print("\ndetect: preprocess + inference + decode (vasdk.Detector); infer: the model alone "
          "(vasdk._core.Engine); medians, ms; spread: (max - min) / median over the repetitions")
    print(f"{'variant':20s} {'size MB':>8s} {'det 1t':>7s} {'det 2t':>7s} {'sprd 1t':>7s} {'sprd 2t':>7s} "
          f"{'x 1t':>6s} {'x 2t':>6s} {'inf 1t':>7s} {'inf 2t':>7s} {'mAP@0.5 vs fp32':>16s} {'walkers':>8s}")
    for r in rep["variants"]:
        inf = r.get("inference_ms", {})
        gt = r.get("ground_truth_vtest_300")
        sp = r.get("latency_spread", {})
        nan = float("nan")
        ms, x = r["latency_ms"], r["speedup"]  # "2" is absent when only 1 thread was timed
        print(f"{r['name']:20s} {r['size_bytes'] / 1e6:8.2f} {ms['1']:7.1f} "
              f"{ms.get('2', nan):7.1f} {sp.get('1', nan):7.0%} {sp.get('2', nan):7.0%} "
              f"{x['1']:6.2f} {x.get('2', nan):6.2f} "
              f"{inf.get('1', float('nan')):7.1f} {inf.get('2', float('nan')):7.1f} "
              f"{r['map50_vs_reference']:16.3f} "
              + (f"{gt['found']}/{gt['walkers']:<6d}" if gt else f"{'-':>8s}"))
    print(flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="yolov3-tiny,centerface")
    p.add_argument("--variants",
                   help="comma-separated, of " + ",".join(v for v, _ in VARIANTS) + " (default: "
                        + ",".join(DEFAULT_VARIANTS) + ", plus the model's extra variants: for centerface "
                        + ",".join(MODELS["centerface"]["extra_variants"]) + ")")
    p.add_argument("--tag", default="quantize",
                   help="output names: TAG.json, TAG_<model>.md (default quantize)")
    p.add_argument("--all-classes", action="store_true",
                   help="score agreement over all classes (default: the deployed class list)")
    p.add_argument("--optimization", choices=["basic", "extended", "all"], default="all",
                   help="runtime graph optimization level (default all)")
    p.add_argument("--reps", type=int, default=MIN_REPS, help=f"latency repetitions (at least {MIN_REPS})")
    p.add_argument("--allow-busy", action="store_true",
                   help=f"write results even when the CPU-busy share before the run exceeds {BUSY_LIMIT}, "
                        "flagged busy")
    p.add_argument("--latency-frames", type=int, default=30, help="frames timed per repetition (default 30)")
    p.add_argument("--eval-frames", type=int, default=100, help="frames for mAP agreement (default 100)")
    p.add_argument("--threads", default="1,2", help="thread counts timed (default 1,2; the rows use 1)")
    p.add_argument("--reuse-quantized", action="store_true",
                   help="reuse INT8 models quantized earlier from the same inputs (see _quantcache.py)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    if args.reps < MIN_REPS:
        p.error(f"--reps must be at least {MIN_REPS}: fewer cannot show the spread")
    unknown = set((args.variants or ",".join(DEFAULT_VARIANTS)).split(",")) - {v for v, _ in VARIANTS}
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}")
    args.thread_counts = thread_counts(p, args.threads)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: set OPENBLAS_NUM_THREADS=1 for steadier timings", file=sys.stderr)
    only = (args.variants or ",".join(DEFAULT_VARIANTS)).split(",")
    settings = {"models": args.models, "variants": ",".join(only), "tag": args.tag,
                "all_classes": args.all_classes, "optimization": args.optimization, "reps": args.reps,
                "latency_frames": args.latency_frames, "eval_frames": args.eval_frames,
                "threads": args.threads, "reuse_quantized": args.reuse_quantized}
    defaults = {"models": "yolov3-tiny,centerface", "variants": ",".join(DEFAULT_VARIANTS), "tag": "quantize",
                "all_classes": False, "optimization": "all", "reps": MIN_REPS, "latency_frames": 30,
                "eval_frames": 100, "threads": "1,2", "reuse_quantized": False}
    out = results_path(args.out_dir / f"{args.tag}.json", settings, defaults)
    results: dict[str, Any] = {"benchmark": "quantize", "settings": settings, "busy": False}
    score: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="vasdk-bench-q-") as tmp:
        for name in args.models.split(","):
            env = environment(kernels="onnxruntime CPU (MLAS)")
            print(f"{name}: load {env['load_avg_before']}, CPU busy before the run "
                  f"{env['cpu_busy_share_before']}", flush=True)
            if env["busy"]:
                if not args.allow_busy:
                    busy = env["cpu_busy_share_before"]
                    print(f"refusing to measure: CPU-busy share {busy} > {BUSY_LIMIT} "
                          "(other work is running; --allow-busy writes flagged results)", file=sys.stderr)
                    return 3
                results["busy"] = True
            results.setdefault("environment", env)
            rep = run_model(name, Path(tmp), args.out_dir, args.reps, args.latency_frames, only, out.stem,
                            args.all_classes, args.optimization, default_set=args.variants is None, env=env,
                            eval_frames=args.eval_frames, threads=args.thread_counts,
                            reuse_quantized=args.reuse_quantized)
            results[name] = rep
            print_table(rep)
            score += scoreboard_rows(name, rep)
    if score:
        results["scoreboard"] = write_scoreboard(score)
    # One file per run, written whole: never merged with another run's results.
    print(f"wrote {write_results(out, results)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
