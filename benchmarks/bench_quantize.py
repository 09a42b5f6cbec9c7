"""INT8 post-training quantization of the real models: speed and detection agreement.

For yolov3-tiny (768x576, vtest.avi) and CenterFace (640x480, Megamind.avi):

- calibration frames: every 25th (vtest) / 11th (Megamind) frame;
- evaluation frames: 100 frames spread over the rest of the clip, none used for calibration;
- variants: FP32; INT8 (uint8 activations, per-channel int8 weights, heads in float) with
  MinMax, Percentile (99.999) and Entropy (2048 bins); INT8 MinMax with the heads quantized
  too (what onnxruntime's defaults do); w8a16 (int16 activations, accuracy study only);
- reported: median latency of one detection through the SDK on 1 and 2 threads (variants
  interleaved frame by frame, repeated ``--reps`` times: median of the repetition medians),
  size, mAP@0.5 against FP32's detections.

Writes benchmarks/results/quantize.json and per-model reports quantize_<model>.{md,json,png}
(``--tag`` renames them). ``--variants int8-ort-defaults --tag quantize_ortdefaults`` measures
onnxruntime's defaults (int8 activations, per-tensor weights, outputs quantized) on their own.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_quantize.py [--models yolov3-tiny,centerface]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from vasdk.asset_paths import asset_path  # noqa: E402
from vasdk.tools.calibrate import read_video_frames  # noqa: E402
from vasdk.tools.evaluate import Variant, evaluate  # noqa: E402
from vasdk.tools.quantize import QuantizeConfig, quantize_model  # noqa: E402
from vasdk.tools.report import write_report  # noqa: E402

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


def run_model(name: str, work: Path, out_dir: Path, reps: int, latency_frames: int,
              only: list[str], tag: str, all_classes: bool = False,
              optimization: str = "all", default_set: bool = False) -> dict[str, Any]:
    spec = dict(MODELS[name])
    if all_classes:
        spec["classes"] = None
    model = asset_path(f"{name}.onnx")
    video = asset_path(spec["video"])
    calib_idx, eval_idx = split(spec["frames"], spec["calib_step"])
    calib = read_video_frames(video, calib_idx)
    frames = read_video_frames(video, eval_idx)
    variants = [Variant("fp32", model)]
    quant_info = {}
    for vname, cfg in VARIANTS:
        if vname not in only and not (default_set and vname in spec.get("extra_variants", [])):
            continue
        dst = work / f"{name}.{vname}.onnx"
        t = time.perf_counter()
        res = quantize_model(model, dst, calib, cfg, progress=True)
        quant_info[vname] = {"seconds": round(time.perf_counter() - t, 1), "float_nodes": res.float_nodes,
                             "method": cfg.method, "activations": cfg.activation_type,
                             "per_channel": cfg.per_channel, "preset": cfg.preset,
                             "target": cfg.target, "weight_bits": cfg.weight_bits,
                             "float_first": cfg.float_first, "float_heads": cfg.float_heads}
        print(f"  quantized {vname} in {quant_info[vname]['seconds']} s", flush=True)
        variants.append(Variant(vname, dst))

    final = evaluate(variants, frames, threads=(1, 2), latency_frames=latency_frames, latency_reps=reps,
                     optimization=optimization,
                     classes=spec["classes"], progress=True, title=name,
                     frame_source=f"{spec['video']}: {len(eval_idx)} frames spread over the clip, "
                                  f"none of the {len(calib_idx)} calibration frames (every "
                                  f"{spec['calib_step']}th)")
    for row in final["variants"]:
        row["quantize"] = quant_info.get(row["name"])
    final["notes"] = [
        "Latency: median over repetitions of the per-repetition median; the machine (2 cores) was "
        "shared with other work while measuring.",
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
    write_report(final, out_dir, f"{tag}_{name}")
    return final


def main() -> int:
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
    p.add_argument("--reps", type=int, default=3, help="latency repetitions (default 3)")
    p.add_argument("--latency-frames", type=int, default=30, help="frames timed per repetition (default 30)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        print("note: set OPENBLAS_NUM_THREADS=1 for steadier timings", file=sys.stderr)
    only = (args.variants or ",".join(DEFAULT_VARIANTS)).split(",")
    unknown = set(only) - {v for v, _ in VARIANTS}
    if unknown:
        p.error(f"unknown variants {sorted(unknown)}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="vasdk-bench-q-") as tmp:
        for name in args.models.split(","):
            print(f"{name}:", flush=True)
            rep = run_model(name, Path(tmp), args.out_dir, args.reps, args.latency_frames, only, args.tag,
                            args.all_classes, args.optimization, default_set=args.variants is None)
            results[name] = rep
            print()
            print("detect: preprocess + inference + decode (vasdk.Detector); infer: the model alone "
                  "(vasdk._core.Engine); medians, ms")
            print(f"{'variant':20s} {'size MB':>8s} {'det 1t':>7s} {'det 2t':>7s} {'x 1t':>6s} {'x 2t':>6s} "
                  f"{'inf 1t':>7s} {'inf 2t':>7s} {'x 1t':>6s} {'x 2t':>6s} {'mAP@0.5 vs fp32':>16s}")
            for r in rep["variants"]:
                inf = r.get("inference_ms", {})
                isp = r.get("inference_speedup", {})
                print(f"{r['name']:20s} {r['size_bytes'] / 1e6:8.2f} {r['latency_ms']['1']:7.1f} "
                      f"{r['latency_ms']['2']:7.1f} {r['speedup']['1']:6.2f} {r['speedup']['2']:6.2f} "
                      f"{inf.get('1', float('nan')):7.1f} {inf.get('2', float('nan')):7.1f} "
                      f"{isp.get('1', float('nan')):6.2f} {isp.get('2', float('nan')):6.2f} "
                      f"{r['map50_vs_reference']:16.3f}")
            print(flush=True)
            # Written after each model, merged with the other models' last results.
            args.out_dir.mkdir(parents=True, exist_ok=True)
            out = args.out_dir / f"{args.tag}.json"
            old = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
            out.write_text(json.dumps({**old, **results}, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
