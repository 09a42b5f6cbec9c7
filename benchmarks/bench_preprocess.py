"""Preprocessing benchmark: vasdk's fused kernels against OpenCV-python and the memory floor.

For a 1920x1080 frame (BGR, and NV12) turned into a 640x640 letterboxed, normalised RGB
float32 NCHW tensor, prints the median milliseconds of:

- vasdk on 1 and on 2 threads (output array reused, as a pool buffer would be);
- OpenCV's chain: resize, copyMakeBorder, cvtColor, astype, transpose (NV12: cvtColor first);
- OpenCV's letterbox then ``cv2.dnn.blobFromImage``;
- the memory floor: reading every input byte once and writing every output byte once
  (copy of the output's size from the input into the output, plus a max() over the rest);
  also in C++ on 1 and on 2 threads of vasdk's ThreadPool (``vasdk._testing.MemoryFloor``: memcpy
  plus an OR over the rest), which shows how far 2 threads can go on this machine at all:
  a kernel near the memory floor cannot scale past the floor's own 2-thread speed-up.

Extra rows use a non-integer ratio (1920x1080 -> 608x608), where every bilinear tap is
live; at exactly 3:1 (1920 -> 640) half-pixel-centre bilinear samples one source pixel per
output pixel, which vasdk exploits and OpenCV does not.

It also counts minor page faults per frame, in a fresh process (first call) and warmed up.
Run: OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_preprocess.py [--reps 7]
Writes benchmarks/results/preprocess.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from vasdk import _testing  # test-only module: scripts/setup.sh builds it
from vasdk.preprocess import Preprocessor

NET = 640
PAD = 114


def letterbox_geometry(w: int, h: int, net: int) -> tuple[int, int, int, int]:
    s = min(net / w, net / h)
    cw, ch = min(net, round(w * s)), min(net, round(h * s))
    return cw, ch, (net - cw) // 2, (net - ch) // 2


def cv_chain(bgr: np.ndarray, net: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    cw, ch, x0, y0 = letterbox_geometry(w, h, net)
    r = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_LINEAR)
    r = cv2.copyMakeBorder(
        r, y0, net - ch - y0, x0, net - cw - x0, cv2.BORDER_CONSTANT, value=(PAD, PAD, PAD)
    )
    r = cv2.cvtColor(r, cv2.COLOR_BGR2RGB)
    x = r.astype(np.float32) * np.float32(1 / 255)
    return np.ascontiguousarray(x.transpose(2, 0, 1))[None]


def cv_blob(bgr: np.ndarray, net: int) -> np.ndarray:
    h, w = bgr.shape[:2]
    cw, ch, x0, y0 = letterbox_geometry(w, h, net)
    r = cv2.resize(bgr, (cw, ch), interpolation=cv2.INTER_LINEAR)
    r = cv2.copyMakeBorder(
        r, y0, net - ch - y0, x0, net - cw - x0, cv2.BORDER_CONSTANT, value=(PAD, PAD, PAD)
    )
    return cv2.dnn.blobFromImage(r, scalefactor=1 / 255, swapRB=True)


def make_inputs(w: int = 1920, h: int = 1080) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # A smooth image (a gradient plus noise) so colour conversion sees realistic values.
    yy, xx = np.mgrid[0:h, 0:w]
    base = ((xx * 255 // w + yy * 255 // h) // 2).astype(np.uint8)
    bgr = np.stack([base, 255 - base, base[::-1]], axis=2)
    bgr = np.clip(bgr.astype(np.int16) + rng.integers(-8, 9, bgr.shape), 0, 255).astype(np.uint8)
    nv12 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)  # I420 -> repack chroma as NV12
    y = nv12[:h]
    u = nv12[h : h + h // 4].reshape(h // 2, w // 2)
    v = nv12[h + h // 4 :].reshape(h // 2, w // 2)
    uv = np.empty((h // 2, w), np.uint8)
    uv[:, 0::2], uv[:, 1::2] = u, v
    return bgr, np.ascontiguousarray(np.vstack([y, uv]))


class Ring:
    """Cycles through frames; with more bytes than the last-level cache, every call starts
    from memory as it would with freshly decoded video."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.i = 0

    def __call__(self) -> np.ndarray:
        self.i = (self.i + 1) % len(self.frames)
        return self.frames[self.i]


def floor_fn(ring: Ring, out: np.ndarray) -> Callable[[], object]:
    o = out.reshape(-1).view(np.uint8)

    def run() -> object:
        s = ring().reshape(-1)
        n = min(s.size, o.size)
        np.copyto(o[:n], s[:n])
        return s[n:].max() if s.size > n else None

    return run


def time_ms(fn: Callable[[], object], iters: int) -> list[float]:
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def faults_per_call(fn: Callable[[], object], iters: int = 20) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(iters):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / iters


def methods(bgr: list[np.ndarray], nv12: list[np.ndarray], net: int) -> dict[str, Callable[[], object]]:
    out1 = np.empty((1, 3, net, net), np.float32)
    out2 = np.empty_like(out1)
    p1 = Preprocessor(net, net, threads=1)
    p2 = Preprocessor(net, net, threads=2)
    f1, f2 = _testing.MemoryFloor(1), _testing.MemoryFloor(2)
    b, n = Ring(bgr), Ring(nv12)
    return {
        "bgr/vasdk_1t": lambda: p1(b(), "BGR", out=out1),
        "bgr/vasdk_2t": lambda: p2(b(), "BGR", out=out2),
        "bgr/cv_chain": lambda: cv_chain(b(), net),
        "bgr/cv_blob": lambda: cv_blob(b(), net),
        "bgr/floor": floor_fn(b, out1),
        "bgr/floor_c1": lambda: f1.run(b(), out1),
        "bgr/floor_c2": lambda: f2.run(b(), out2),
        "nv12/vasdk_1t": lambda: p1(n(), "NV12", out=out1),
        "nv12/vasdk_2t": lambda: p2(n(), "NV12", out=out2),
        "nv12/cv_chain": lambda: cv_chain(cv2.cvtColor(n(), cv2.COLOR_YUV2BGR_NV12), net),
        "nv12/cv_blob": lambda: cv_blob(cv2.cvtColor(n(), cv2.COLOR_YUV2BGR_NV12), net),
        "nv12/floor": floor_fn(n, out1),
        "nv12/floor_c1": lambda: f1.run(n(), out1),
        "nv12/floor_c2": lambda: f2.run(n(), out2),
    }


def fresh_faults(name: str, net: int) -> float:
    """Minor faults of the first call of `name` in a new process (after imports and inputs)."""
    here = str(Path(__file__).parent)
    code = (
        f"import resource,sys; sys.path.insert(0, {here!r}); import bench_preprocess as b, cv2;"
        f"cv2.setNumThreads(1); bgr, nv = b.make_inputs(); m = b.methods([bgr], [nv], {net})[{name!r}];"
        "r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt; m();"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="repetitions (interleaved)")
    ap.add_argument("--iters", type=int, default=20, help="timed calls per repetition")
    ap.add_argument("--ring", type=int, default=8, help="frames in the cold ring (8 x 6 MB)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "preprocess.json"))
    args = ap.parse_args()

    cv2.setNumThreads(1)
    bgr, nv12 = make_inputs()
    # "warm": one frame, cache-resident after the first call. "cold": a ring of frames larger
    # than the last-level cache (32 MiB here), as with live video.
    ring_b = [bgr] + [np.roll(bgr, k, axis=1) for k in range(1, args.ring)]
    ring_n = [nv12] + [np.roll(nv12, 2 * k, axis=1) for k in range(1, args.ring)]
    cases = {
        "warm/640": methods([bgr], [nv12], NET),
        "cold/640": methods(ring_b, ring_n, NET),
        "warm/608": methods([bgr], [nv12], 608),
    }
    samples: dict[str, dict[str, list[float]]] = {k: {n: [] for n in m} for k, m in cases.items()}
    for fns in cases.values():
        for fn in fns.values():
            fn()  # warm-up: first-touch of outputs and caches
    for _ in range(args.reps):
        for key, fns in cases.items():
            for name, fn in fns.items():
                samples[key][name] += time_ms(fn, args.iters)
    med = {k: {n: float(np.median(v)) for n, v in s.items()} for k, s in samples.items()}

    faults = {}
    for name in ("bgr/vasdk_1t", "bgr/cv_chain", "bgr/cv_blob", "nv12/vasdk_1t", "nv12/cv_chain"):
        faults[name] = {
            "fresh_first_call": fresh_faults(name, NET),
            "warm_per_call": faults_per_call(cases["warm/640"][name]),
        }

    def row(key: str, fmt: str) -> dict[str, float]:
        m = med[key]
        best_cv = min(m[f"{fmt}/cv_chain"], m[f"{fmt}/cv_blob"])
        return {
            "vasdk_1t": m[f"{fmt}/vasdk_1t"],
            "vasdk_2t": m[f"{fmt}/vasdk_2t"],
            "cv_chain": m[f"{fmt}/cv_chain"],
            "cv_blob": m[f"{fmt}/cv_blob"],
            "floor": m[f"{fmt}/floor"],
            "floor_c1": m[f"{fmt}/floor_c1"],
            "floor_c2": m[f"{fmt}/floor_c2"],
            "speedup_vs_best_cv_1t": best_cv / m[f"{fmt}/vasdk_1t"],
            "vs_floor_1t": m[f"{fmt}/vasdk_1t"] / m[f"{fmt}/floor"],
            "speedup_2t_vs_1t": m[f"{fmt}/vasdk_1t"] / m[f"{fmt}/vasdk_2t"],
            "floor_speedup_2t_vs_1t": m[f"{fmt}/floor_c1"] / m[f"{fmt}/floor_c2"],
            "vs_floor_2t": m[f"{fmt}/vasdk_2t"] / m[f"{fmt}/floor_c2"],
        }

    rows = {
        "BGR  ->640 warm": row("warm/640", "bgr"),
        "NV12 ->640 warm": row("warm/640", "nv12"),
        "BGR  ->640 cold": row("cold/640", "bgr"),
        "NV12 ->640 cold": row("cold/640", "nv12"),
        "BGR  ->608 warm": row("warm/608", "bgr"),
        "NV12 ->608 warm": row("warm/608", "nv12"),
    }
    hdr = (
        f"{'1920x1080 (median ms)':28} {'vasdk 1t':>9} {'vasdk 2t':>9} {'cv chain':>9} "
        f"{'cv blob':>9} {'floor':>7} {'best cv/1t':>10} {'1t/floor':>8} {'1t/2t':>6} "
        f"{'floor 2t':>8} {'floor 1t/2t':>11} {'2t/floor 2t':>11}"
    )
    print(hdr)
    print("-" * len(hdr))
    for name, r in rows.items():
        print(
            f"{name:28} {r['vasdk_1t']:9.3f} {r['vasdk_2t']:9.3f} {r['cv_chain']:9.3f} "
            f"{r['cv_blob']:9.3f} {r['floor']:7.3f} {r['speedup_vs_best_cv_1t']:9.2f}x "
            f"{r['vs_floor_1t']:7.2f}x {r['speedup_2t_vs_1t']:5.2f}x "
            f"{r['floor_c2']:8.3f} {r['floor_speedup_2t_vs_1t']:10.2f}x {r['vs_floor_2t']:10.2f}x"
        )
    print()
    print(f"{'minor page faults per frame':28} {'fresh (1st call)':>16} {'warm':>8}")
    for name, f in faults.items():
        print(f"{name:28} {f['fresh_first_call']:16.0f} {f['warm_per_call']:8.1f}")

    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_avg": os.getloadavg(),
            "avx2": Preprocessor.avx2_available(),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
        "reps": args.reps,
        "ring": args.ring,
        "iters": args.iters,
        "median_ms": med,
        "rows": rows,
        "page_faults": faults,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
