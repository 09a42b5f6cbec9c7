"""Engine overhead: vasdk's engine against raw onnxruntime ``session.run`` on the same model.

Same model file, same thread count, same graph optimization level, same input tensor; the two
are interleaved call by call so machine noise hits both equally. Models: yolov3-tiny at 416x416
and 768x576, CenterFace at 640x480, each FP32 and INT8 (QDQ, made once with vasdk's quantizer
and cached under .cache/bench). Prints a table and writes benchmarks/results/engine.json.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_engine.py [--reps 30]

"vasdk" times ``vasdk._core.Engine.run`` from Python (input check, binding, run, outputs copied
into new numpy arrays); "vasdk C++" is the engine's own run() timer for the same calls, without
the Python layer. Overhead = vasdk / ORT - 1 on medians.

Scoreboard (benchmarks/run_all.py): one row per model, size and precision at 1 thread, vasdk
from Python against ORT's session.run; the target is at most 2 % overhead (ratio ORT / vasdk
>= 0.98). --quick runs 5 repetitions at 1 thread instead of 30 at 1 and 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _env import (  # noqa: E402
    environment,
    results_path,
    score_row,
    thread_counts,
    write_results,
    write_scoreboard,
)

from vasdk import _core  # noqa: E402
from vasdk.asset_paths import asset_path  # noqa: E402

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--reps", "5", "--threads", "1"], "out": ["--out", "{dir}/engine.json"]}
# vasdk's Python call may cost at most 2 % more than ORT's session.run on the same model.
MAX_OVERHEAD = 0.02

CASES = [  # (model asset, width, height, calibration video)
    ("yolov3-tiny", 416, 416, "vtest.avi"),
    ("yolov3-tiny", 768, 576, "vtest.avi"),
    ("centerface", 640, 480, "Megamind.avi"),
]


def int8_model(name: str, video: str) -> Path:
    """INT8 QDQ variant (MinMax, per-channel weights, uint8 activations, float heads), cached."""
    from vasdk.tools.calibrate import read_video_frames
    from vasdk.tools.quantize import QuantizeConfig, quantize_model

    out = ROOT / ".cache" / "bench" / f"{name}-int8.onnx"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        frames = read_video_frames(asset_path(video), list(range(0, 240, 15)))
        quantize_model(asset_path(f"{name}.onnx"), out, frames, QuantizeConfig())
    return out


def bench(model: Path, w: int, h: int, threads: int, reps: int) -> dict[str, Any]:
    opts = {"threads": threads, "optimization": "all", "spinning": False}
    eng = _core.Engine(str(model), json.dumps(opts))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    name = eng.inputs[0][0]
    x = np.random.default_rng(0).random((1, 3, h, w), dtype=np.float32)
    feeds = {name: x}
    for _ in range(3):  # warm-up both (first runs allocate arenas, fill caches)
        eng.run(feeds)
        sess.run(None, feeds)
    ours, theirs, cpp = [], [], []
    for r in range(reps):
        order = (0, 1) if r % 2 == 0 else (1, 0)  # alternate who goes first
        for who in order:
            t = time.perf_counter()
            if who == 0:
                out = eng.run(feeds)
                ours.append((time.perf_counter() - t) * 1e3)
                cpp.append(eng.stats()["last_ms"])
            else:
                ref = sess.run(None, feeds)
                theirs.append((time.perf_counter() - t) * 1e3)
    # Same numbers from both, or the comparison is meaningless.
    for a, b in zip(out.values(), ref):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    m_ours, m_ort, m_cpp = (statistics.median(v) for v in (ours, theirs, cpp))
    return {"threads": threads, "precision": eng.precision, "vasdk_ms": m_ours, "vasdk_cpp_ms": m_cpp,
            "ort_ms": m_ort, "overhead_pct": (m_ours / m_ort - 1) * 100,
            "overhead_cpp_pct": (m_cpp / m_ort - 1) * 100, "reps": reps}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/engine.json"))
    args = ap.parse_args(argv)
    args.thread_counts = thread_counts(ap, args.threads)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    env = environment(kernels="onnxruntime CPU (MLAS)")
    rows = []
    for name, w, h, video in CASES:
        models = {"fp32": asset_path(f"{name}.onnx"), "int8": int8_model(name, video)}
        for prec, path in models.items():
            for t in args.thread_counts:
                r = bench(path, w, h, t, args.reps)
                r.update(model=name, size=f"{w}x{h}", variant=prec)
                rows.append(r)
                print(f"  {name:12s} {w}x{h} {prec} t={t}: vasdk {r['vasdk_ms']:.2f} ms, "
                      f"ort {r['ort_ms']:.2f} ms ({r['overhead_pct']:+.1f}%)", flush=True)
    by = {(r["model"], r["size"], r["variant"], r["threads"]): r for r in rows}
    print("\nmodel        size     prec  thr  vasdk ms  C++ ms   ORT ms  overhead  int8 speed-up")
    print("-" * 84)
    for r in rows:
        fp = by.get((r["model"], r["size"], "fp32", r["threads"]))
        speed = f"{fp['ort_ms'] / r['ort_ms']:.2f}x" if r["variant"] == "int8" and fp else ""
        print(f"{r['model']:12s} {r['size']:8s} {r['variant']:5s} {r['threads']:>3d} {r['vasdk_ms']:9.2f} "
              f"{r['vasdk_cpp_ms']:7.2f} {r['ort_ms']:8.2f} {r['overhead_pct']:+8.1f}%  {speed:>8s}")
    settings = {"reps": args.reps, "threads": args.threads}
    out = results_path(Path(args.out), settings, {"reps": 30, "threads": "1,2"})
    score = write_scoreboard([
        score_row(f"engine {r['model']} {r['size']} {r['variant'].upper()}, 1 thread", "ms", r["vasdk_ms"],
                  r["ort_ms"], "onnxruntime session.run", better="lower",
                  target=("ratio", ">=", round(1 / (1 + MAX_OVERHEAD), 2)))
        for r in rows if r["threads"] == 1
    ])
    result = {"benchmark": "engine", "settings": settings, "environment": env, "rows": rows,
              "scoreboard": score}
    print(f"\nwrote {write_results(out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
