"""INT8 yolov3-tiny on two CPUs: this one, and a Zen 3 (AVX2, no VNNI) emulated by qemu-user.

Timing under emulation means nothing, but the arithmetic is ONNX Runtime's own AVX2 kernels,
so the outputs are what a Zen 3 would compute. For each quantization target the script reports
the relative L2 error of the two YOLO heads against FP32 on both CPUs, and whether the outputs
of the two CPUs are bitwise equal. Expected: ``portable`` equal on both, ``vnni`` worse on the
emulated Zen 3 (its u8s8 pair sums saturate).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_int8_cpus.py [--frames 300,430]

About 4 minutes per frame and target under emulation on a 2-core machine. Writes
benchmarks/results/int8_cpus.json.

Scoreboard (benchmarks/run_all.py): the ``portable`` target against full 8-bit weights (the
``vnni`` target, which is what onnxruntime's quantizer gives by default): its relative error on
the emulated Zen 3 must be no worse (ratio >= 1), and its outputs there must equal the native
ones bit for bit. --quick runs the same frame (there is nothing to cut but frames, and one is
the least) and reuses the two INT8 models when an earlier run quantized them from the same
inputs (--reuse-quantized, benchmarks/_quantcache.py): the emulated inference is then most of
its time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from vasdk.tools.calibrate import preprocess, read_video_frames  # noqa: E402
from vasdk.tools.cpuinfo import cpu_info  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from _env import environment, score_row, write_scoreboard  # noqa: E402
from _quantcache import quantize  # noqa: E402

from vasdk.tools.quantize import QuantizeConfig  # noqa: E402

# How benchmarks/run_all.py runs this script ({dir}: where run_all keeps this run's results).
SCOREBOARD = {"full": [], "quick": ["--reuse-quantized"], "out": ["--out", "{dir}/int8_cpus.json"]}
EMULATED_CPU = "EPYC-Milan"
RUN = """
import sys, numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.log_severity_level = 3
s = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
x = np.load(sys.argv[2])
outs = [s.run(None, {s.get_inputs()[0].name: x[i:i + 1]}) for i in range(len(x))]
np.savez(sys.argv[3], *[np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))])
"""


def _run(prefix: list[str], model: Path, x: Path, out: Path, script: Path) -> list[np.ndarray]:
    subprocess.run([*prefix, sys.executable, str(script), str(model), str(x), str(out)], check=True,
                   capture_output=True)
    z = np.load(out)
    return [z[k].astype(np.float64) for k in sorted(z.files)]


def _rel(a: list[np.ndarray], ref: list[np.ndarray]) -> float:
    num = sum(float(((x - y) ** 2).sum()) for x, y in zip(a, ref))
    return float(np.sqrt(num / sum(float((y ** 2).sum()) for y in ref)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked (tests/python/test_readme_performance.py parses SCOREBOARD's)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=Path, default=ROOT / ".cache" / "assets")
    p.add_argument("--frames", default="300", help="vtest.avi frames to compare (default 300)")
    p.add_argument("--reuse-quantized", action="store_true",
                   help="reuse INT8 models quantized earlier from the same inputs (see _quantcache.py)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "int8_cpus.json")
    args = p.parse_args(argv)
    try:
        args.frame_list = [int(v) for v in args.frames.split(",")]
    except ValueError:
        p.error(f"--frames: comma-separated frame numbers, not {args.frames!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = environment(kernels="onnxruntime CPU (MLAS), native and under qemu-x86_64")
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        raise SystemExit("qemu-x86_64 is missing (apt package qemu-user)")
    spec = json.loads((args.assets / "yolov3-tiny.json").read_text())["input"]
    idx = args.frame_list
    rows = []
    with tempfile.TemporaryDirectory(prefix="vasdk-int8-cpus-") as tmp:
        t = Path(tmp)
        script = t / "run.py"
        script.write_text(RUN)
        frames = read_video_frames(args.assets / "vtest.avi", idx)
        x = np.concatenate([preprocess(f, spec)[None] for f in frames])
        np.save(t / "x.npy", x.reshape(len(idx), 3, spec["height"], spec["width"]))
        calib = read_video_frames(args.assets / "vtest.avi", list(range(0, 795, 25)))
        fp32 = _run([], args.assets / "yolov3-tiny.onnx", t / "x.npy", t / "fp32.npz", script)
        targets = ("portable", "vnni")
        models = {target: quantize(args.assets / "yolov3-tiny.onnx", t / f"{target}.onnx", calib,
                                   QuantizeConfig(method="minmax", target=target),
                                   reuse=args.reuse_quantized)[0].model
                  for target in targets}
        # The emulated runs (single-threaded each, most of the time) run side by side.
        with ThreadPoolExecutor(len(targets)) as pool:
            emulated = {target: pool.submit(_run, [qemu, "-cpu", EMULATED_CPU], models[target], t / "x.npy",
                                            t / f"{target}.zen3.npz", script) for target in targets}
            natives = {target: _run([], models[target], t / "x.npy", t / f"{target}.native.npz", script)
                       for target in targets}
            zen3s = {target: f.result() for target, f in emulated.items()}
        for target in targets:
            native, zen3 = natives[target], zen3s[target]
            row = {"target": target, "rel_err_native": round(_rel(native, fp32), 4),
                   "rel_err_emulated_zen3": round(_rel(zen3, fp32), 4),
                   "bitwise_equal": all(np.array_equal(a, b) for a, b in zip(native, zen3))}
            rows.append(row)
            print(row, flush=True)
    by = {r["target"]: r for r in rows}
    peer = "8-bit weights (vnni target, as onnxruntime quantizes)"
    score = write_scoreboard([
        score_row("INT8 yolov3-tiny error vs FP32 on a Zen 3 (AVX2, emulated)", "rel. L2",
                  by["portable"]["rel_err_emulated_zen3"], by["vnni"]["rel_err_emulated_zen3"], peer,
                  better="lower", target=("ratio", ">=", 1)),
        score_row("INT8 yolov3-tiny: Zen 3 (emulated) outputs equal this CPU's", "equal (1/0)",
                  float(by["portable"]["bitwise_equal"]), float(by["vnni"]["bitwise_equal"]), peer,
                  better="higher", target=("vasdk", "==", 1)),
    ])
    res = {"model": "yolov3-tiny 768x576, MinMax on 32 vtest frames", "frames": idx, "host_cpu": cpu_info(),
           "settings": {"frames": args.frames, "reuse_quantized": args.reuse_quantized}, "environment": env,
           "emulated_cpu": f"qemu-x86_64 -cpu {EMULATED_CPU}", "rows": rows, "scoreboard": score}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
