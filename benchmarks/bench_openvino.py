"""OpenVINO backend overhead: vasdk's "openvino" engine against OpenVINO's own Python API, and
against vasdk's ORT engine, on the same model file, threads, precision and input tensor.

Two measurements per (model, precision):

- **1-thread latency** (median of --reps calls, interleaved call by call so machine noise hits
  every side alike): vasdk ``_core.Engine.run`` with ``backend: openvino`` (Python call, input
  check, run, outputs copied into new numpy arrays) and its C++ ``run()`` timer; OpenVINO's
  ``compiled_model`` (``INFERENCE_NUM_THREADS=1``, ``PERFORMANCE_HINT=LATENCY``, same precision
  hint) through ``InferRequest.infer``, which also copies its outputs out; vasdk ORT at 1 thread.
  Overhead = vasdk OV / OpenVINO Python - 1 on medians (target: <= 2%).
- **2-core throughput** (--seconds each): OpenVINO Python with ``PERFORMANCE_HINT=THROUGHPUT``
  driven by an ``AsyncInferQueue`` of the compiled model's optimal number of requests; vasdk's
  OpenVINO engine with the same hint and two threads calling ``run()`` concurrently (its pool of
  infer requests), measured by the C++ driver in tests/cpp/test_engine_openvino.cpp
  (OpenVinoEngineBench.DISABLED_Throughput, from a build dir given by --build); vasdk ORT with
  two threads calling ``run()`` on one session of 1 intra-op thread each.

Models: yolov3-tiny at 768x576, FP32 at precision f32 and at the plugin's default, and its INT8
QDQ variant (vasdk's quantizer, MinMax, portable target, --no-optimize; cached under
.cache/bench). Records the CPU model, its ISA flags (AVX2, AVX-512, VNNI, BF16, AMX), the load
average and the library versions. Prints a table and writes benchmarks/results/openvino.json.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_openvino.py [--reps 30] [--build build]
        [--seconds 10] [--variants fp32-f32,fp32-default,int8]

Scoreboard (benchmarks/run_all.py): the 1-thread latency overhead of vasdk's OpenVINO backend
(Python call) over OpenVINO's own Python ``compiled_model``, for FP32 (precision hint f32) and
INT8; the target is at most 2 % (ratio OpenVINO / vasdk >= 0.98). --quick times 10 repetitions
of those two cases and skips the 2-core throughput (--seconds 0), which no row reads. Without
the optional ``openvino`` wheel the script exits 1 with one line saying so, and run_all makes
its rows errors with that reason.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _env import _version, environment, results_path, score_row, write_results, write_scoreboard  # noqa: E402

from vasdk import _core  # noqa: E402
from vasdk.asset_paths import asset_path  # noqa: E402

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--reps", "10", "--seconds", "0", "--variants", "fp32-f32,int8"],
              "out": ["--out", "{dir}/openvino.json"]}
# vasdk's OpenVINO backend, called from Python, may cost at most 2 % more than OpenVINO's own
# Python InferRequest.infer on the same compiled model settings.
MAX_OVERHEAD = 0.02
# The cases that give scoreboard rows, and the precision their measure names.
SCORED = {"fp32-f32": "FP32", "int8": "INT8"}
VARIANTS = ("fp32-f32", "fp32-default", "int8")

W, H = 768, 576
ISA = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile",
       "amx_bf16", "amx_int8")


def isa_flags() -> dict[str, bool]:
    flags: set[str] = set()
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags = set(value.split())
            break
    return {f: f in flags for f in ISA}


def int8_model() -> Path:
    """INT8 yolov3-tiny as bench_engine.py makes it, saved as plain QDQ (--no-optimize)."""
    from vasdk.tools.calibrate import read_video_frames
    from vasdk.tools.quantize import QuantizeConfig, quantize_model

    out = ROOT / ".cache" / "bench" / "yolov3-tiny-int8-qdq.onnx"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        frames = read_video_frames(asset_path("vtest.avi"), list(range(0, 240, 15)))
        # The plain QDQ graph: OpenVINO cannot read the ORT-fused (QOperator) default.
        quantize_model(asset_path("yolov3-tiny.onnx"), out, frames, QuantizeConfig(optimize=False))
    return out


def ov_config(precision: str, hint: str, threads: int = 0) -> dict[str, str]:
    cfg = {"PERFORMANCE_HINT": hint}
    if precision:
        cfg["INFERENCE_PRECISION_HINT"] = precision
    if threads:
        cfg["INFERENCE_NUM_THREADS"] = str(threads)
    return cfg


def latency(model: Path, precision: str, reps: int) -> dict[str, Any]:
    import openvino as ov

    opts: dict[str, Any] = {"backend": "openvino", "threads": 1, "performance_hint": "latency"}
    if precision:
        opts["precision_hint"] = precision
    ours = _core.Engine(str(model), json.dumps(opts))
    ort_eng = _core.Engine(str(model), json.dumps({"threads": 1, "optimization": "all"}))
    core = ov.Core()
    compiled = core.compile_model(str(model), "CPU", ov_config(precision, "LATENCY", 1))
    req = compiled.create_infer_request()
    name = ours.inputs[0][0]
    x = np.random.default_rng(0).random((1, 3, H, W), dtype=np.float32)
    feeds = {name: x}
    for _ in range(3):
        ours.run(feeds)
        req.infer({0: x})
        ort_eng.run(feeds)
    t_ours, t_ov, t_cpp, t_ort = [], [], [], []
    for r in range(reps):
        order = [(0, 1, 2), (1, 2, 0), (2, 0, 1)][r % 3]  # rotate who goes first
        for who in order:
            t = time.perf_counter()
            if who == 0:
                out = ours.run(feeds)
                t_ours.append((time.perf_counter() - t) * 1e3)
                t_cpp.append(ours.stats()["last_ms"])
            elif who == 1:
                ref = req.infer({0: x})
                t_ov.append((time.perf_counter() - t) * 1e3)
            else:
                ort_eng.run(feeds)
                t_ort.append((time.perf_counter() - t) * 1e3)
    # Same numbers from both OpenVINO sides (same plugin, same precision), or the comparison is void.
    for port, arr in ref.items():
        np.testing.assert_allclose(out[port.any_name], arr, rtol=1e-5, atol=1e-5)
    series = {"vasdk_ov_ms": t_ours, "vasdk_ov_cpp_ms": t_cpp, "openvino_py_ms": t_ov, "vasdk_ort_ms": t_ort}
    m = {k: statistics.median(v) for k, v in series.items()}
    return {**m, "overhead_pct": (m["vasdk_ov_ms"] / m["openvino_py_ms"] - 1) * 100,
            "overhead_cpp_pct": (m["vasdk_ov_cpp_ms"] / m["openvino_py_ms"] - 1) * 100,
            "inference_precision": str(compiled.get_property("INFERENCE_PRECISION_HINT")),
            "vasdk_notes": ours.notes, "reps": reps}


def ov_throughput(model: Path, precision: str, seconds: float) -> dict[str, Any]:
    import openvino as ov

    core = ov.Core()
    compiled = core.compile_model(str(model), "CPU", ov_config(precision, "THROUGHPUT"))
    n = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    queue = ov.AsyncInferQueue(compiled, n)
    x = np.random.default_rng(1).random((1, 3, H, W), dtype=np.float32)
    for _ in range(n + 1):
        queue.start_async({0: x})
    queue.wait_all()
    runs = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        queue.start_async({0: x})  # blocks while all n requests are busy
        runs += 1
    queue.wait_all()
    elapsed = time.perf_counter() - t0
    return {"fps": runs / elapsed, "requests": n, "streams": int(compiled.get_property("NUM_STREAMS")),
            "runs": runs, "seconds": elapsed}


def driver_throughput(driver: Path, model: Path, options: dict[str, Any], seconds: float,
                      callers: int = 2) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        env = dict(os.environ, VASDK_BENCH_MODEL=str(model), VASDK_BENCH_OPTIONS=json.dumps(options),
                   VASDK_BENCH_SHAPE=f"{H}x{W}", VASDK_BENCH_CALLERS=str(callers),
                   VASDK_BENCH_SECONDS=str(seconds), VASDK_BENCH_OUT=str(out))
        cmd = [str(driver), "--gtest_also_run_disabled_tests",
               "--gtest_filter=OpenVinoEngineBench.DISABLED_Throughput"]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds * 3 + 120)
        if p.returncode != 0 or not out.exists():
            raise RuntimeError(f"throughput driver failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
        return json.loads(out.read_text())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="length of each 2-core throughput run; 0 skips them (no row reads them)")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated, of {', '.join(VARIANTS)} (fp32-f32: precision hint f32; "
                         "fp32-default: the plugin's default precision)")
    ap.add_argument("--build", default="build", help="build dir holding tests/test_engine_openvino")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/openvino.json"))
    args = ap.parse_args(argv)
    args.variant_list = args.variants.split(",")
    unknown = set(args.variant_list) - set(VARIANTS)
    if unknown:
        ap.error(f"--variants: unknown {sorted(unknown)} (of {', '.join(VARIANTS)})")
    if args.reps < 1 or args.seconds < 0:
        ap.error("--reps must be at least 1 and --seconds at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("openvino") is None:
        # One line: run_all takes the log's last line as the reason of this script's error rows.
        raise SystemExit("openvino is not installed (optional: pip install openvino): no OpenVINO rows")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    driver = (ROOT / args.build / "tests" / "test_engine_openvino").resolve()
    if args.seconds > 0 and not driver.exists():
        raise SystemExit(f"{driver} is missing: cmake --build {args.build} --target test_engine_openvino "
                         "(or --seconds 0 to skip the throughput runs)")
    env = environment(kernels="OpenVINO CPU plugin vs onnxruntime CPU (MLAS)")
    env["isa"] = isa_flags()
    env["load_avg_after"] = None
    env["versions"]["openvino"] = _version("openvino")
    fp32 = asset_path("yolov3-tiny.onnx")
    cases = {"fp32-f32": ("fp32", fp32, "f32"), "fp32-default": ("fp32", fp32, "")}
    if "int8" in args.variant_list:
        cases["int8"] = ("int8", int8_model(), "")
    rows = []
    for key in args.variant_list:
        variant, model, precision = cases[key]
        label = f"yolov3-tiny {W}x{H} {variant} precision={precision or 'default'}"
        r: dict[str, Any] = {"case": key, "model": "yolov3-tiny", "size": f"{W}x{H}", "variant": variant,
                             "precision_hint": precision or "default"}
        r["latency_1t"] = latency(Path(model), precision, args.reps)
        lat = r["latency_1t"]
        print(f"  {label}: 1 thread vasdk-ov {lat['vasdk_ov_ms']:.1f} ms, openvino-py "
              f"{lat['openvino_py_ms']:.1f} ms ({lat['overhead_pct']:+.1f}%), vasdk-ort "
              f"{lat['vasdk_ort_ms']:.1f} ms", flush=True)
        if args.seconds <= 0:
            rows.append(r)
            continue
        ov_opts: dict[str, Any] = {"backend": "openvino", "performance_hint": "throughput"}
        if precision:
            ov_opts["precision_hint"] = precision
        r["throughput_2core"] = {
            "openvino_py": ov_throughput(Path(model), precision, args.seconds),
            "vasdk_ov": driver_throughput(driver, Path(model), ov_opts, args.seconds),
            "vasdk_ort": driver_throughput(driver, Path(model), {"threads": 1}, args.seconds),
        }
        tp = r["throughput_2core"]
        tp["overhead_pct"] = (tp["openvino_py"]["fps"] / tp["vasdk_ov"]["fps"] - 1) * 100
        print(f"  {label}: 2 cores vasdk-ov {tp['vasdk_ov']['fps']:.1f} fps, openvino-py "
              f"{tp['openvino_py']['fps']:.1f} fps ({tp['overhead_pct']:+.1f}%), vasdk-ort "
              f"{tp['vasdk_ort']['fps']:.1f} fps", flush=True)
        rows.append(r)
    env["load_avg_after"] = list(os.getloadavg())

    print(f"\nCPU: {env['cpu_model']}; ISA: {', '.join(k for k, v in env['isa'].items() if v) or 'none'}; "
          f"load before {env['load_avg_before']}, after {[round(v, 2) for v in env['load_avg_after']]}")
    print("\nmodel            prec  hint     | 1 thread, median ms                    | 2 cores, fps")
    print("                              | vasdk-ov  (C++)   ov-py   ovh.  vasdk-ort "
          "| vasdk-ov  ov-py   ovh.  vasdk-ort")
    print("-" * 112)
    for r in rows:
        lat, tp = r["latency_1t"], r.get("throughput_2core")
        print(f"yolov3-tiny {r['size']:>8s} {r['variant']:4s} {r['precision_hint']:7s} | "
              f"{lat['vasdk_ov_ms']:8.1f} {lat['vasdk_ov_cpp_ms']:6.1f} {lat['openvino_py_ms']:7.1f} "
              f"{lat['overhead_pct']:+5.1f}% {lat['vasdk_ort_ms']:9.1f} | "
              + (f"{tp['vasdk_ov']['fps']:8.1f} {tp['openvino_py']['fps']:6.1f} {tp['overhead_pct']:+5.1f}% "
                 f"{tp['vasdk_ort']['fps']:9.1f}" if tp else "(not run: --seconds 0)"))
    print("overhead: latency = vasdk-ov / ov-py - 1; throughput = ov-py fps / vasdk-ov fps - 1 "
          "(target <= 2%)")
    settings = {"reps": args.reps, "seconds": args.seconds, "variants": args.variants}
    defaults = {"reps": 30, "seconds": 10.0, "variants": ",".join(VARIANTS)}
    out = results_path(Path(args.out), settings, defaults)
    by = {r["case"]: r["latency_1t"] for r in rows}
    score = write_scoreboard([
        score_row(f"openvino backend yolov3-tiny {W}x{H} {label}, 1 thread", "ms", by[key]["vasdk_ov_ms"],
                  by[key]["openvino_py_ms"], "OpenVINO Python compiled_model (InferRequest.infer)",
                  better="lower", target=("ratio", ">=", round(1 / (1 + MAX_OVERHEAD), 2)))
        for key, label in SCORED.items() if key in by
    ])
    result = {"benchmark": "openvino", "settings": settings, "environment": env, "rows": rows,
              "scoreboard": score}
    print(f"\nwrote {write_results(out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
